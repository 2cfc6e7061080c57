"""Time windows: weekday and time-of-day ranges in a time zone, for active and mute windows on routes.

A window contains a moment when the moment, in the window's time zone,
falls on one of its weekdays and inside one of its time ranges. No
weekdays means every day, and no time ranges means the whole day. A range
ends before its end time, so "09:00-17:00" contains 16:59 and not 17:00. A
range whose end is not after its start, such as "22:00-06:00", runs past
midnight; its early-morning part belongs to the weekday on which it began.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclasses.dataclass(frozen=True)
class TimeRange:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    @property
    def wraps(self) -> bool:
        return not self.start < self.end


@dataclasses.dataclass(frozen=True)
class TimeWindow:
    """A named set of weekdays (0 is Monday) and time ranges in one time zone."""

    name: str
    time_zone: ZoneInfo
    weekdays: frozenset[int] = frozenset()
    ranges: tuple[TimeRange, ...] = ()

    def contains(self, now: datetime) -> bool:
        local = now.astimezone(self.time_zone)
        clock = local.time().replace(tzinfo=None)
        if not self.ranges:
            return self.day_matches(local.weekday())
        for span in self.ranges:
            if not span.contains(clock):
                continue
            day = local.weekday()
            if span.wraps and clock < span.end:
                # The part after midnight belongs to the day the range began.
                day = (local - timedelta(days=1)).weekday()
            if self.day_matches(day):
                return True
        return False

    def day_matches(self, weekday: int) -> bool:
        return not self.weekdays or weekday in self.weekdays


def parse_weekdays(specs: Sequence[str]) -> frozenset[int]:
    """Parse weekday names and ranges such as "monday:friday" or "saturday"; raise ValueError for an unknown name."""
    days: set[int] = set()
    for spec in specs:
        first, _, last = spec.strip().lower().partition(":")
        start = weekday_index(first)
        end = weekday_index(last) if last else start
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(days)


def weekday_index(name: str) -> int:
    if name not in WEEKDAYS:
        raise ValueError("invalid weekday %r: expected one of %s, or a range such as monday:friday" % (name, ", ".join(WEEKDAYS)))
    return WEEKDAYS.index(name)


def parse_time_range(spec: str) -> TimeRange:
    """Parse "HH:MM-HH:MM"; "24:00" is accepted as an end meaning midnight."""
    start_text, separator, end_text = spec.strip().partition("-")
    if not separator:
        raise ValueError("invalid time range %r: expected HH:MM-HH:MM such as 09:00-17:00" % spec)
    return TimeRange(parse_clock(start_text, spec), parse_clock(end_text, spec))


def parse_clock(text: str, spec: str) -> time:
    text = text.strip()
    if text == "24:00":
        return time(0, 0)
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError("invalid time %r in range %r: expected HH:MM from 00:00 to 24:00" % (text, spec)) from None


def window_blocks(active: Sequence[str], mute: Sequence[str], windows: Mapping[str, TimeWindow], now: datetime) -> str | None:
    """Return why a route must not notify at `now` (a mute window is on, or no active window is), or None.

    A window name that is not configured any more counts as never
    containing `now`, so a deleted mute window stops muting.
    """
    for name in mute:
        window = windows.get(name)
        if window is not None and window.contains(now):
            return "mute time window %s" % name
    if active and not any(name in windows and windows[name].contains(now) for name in active):
        return "outside active time windows %s" % ", ".join(active)
    return None
