"""Routing: which channels an alert is notified on, and how often it repeats.

Routes are tried in order. The first matching route decides unless it has
`continue_` set, in which case later matching routes add their channels too.
When no route matches, every configured channel is used. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta

DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)

# Name recorded on an alert routed by the fallback.
FALLBACK_ROUTE = "default"


@dataclasses.dataclass(frozen=True)
class Route:
    """One route: label matchers, the channels it sends to and the repeat interval.

    `match` requires equal label values; `match_re` requires the pattern to
    match the whole label value. A label the alert lacks compares as "".
    """

    name: str
    channels: tuple[str, ...]
    match: Mapping[str, str] = dataclasses.field(default_factory=dict)
    match_re: Mapping[str, re.Pattern[str]] = dataclasses.field(default_factory=dict)
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL
    continue_: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        for label, expected in self.match.items():
            if labels.get(label, "") != expected:
                return False
        for label, pattern in self.match_re.items():
            if not pattern.fullmatch(labels.get(label, "")):
                return False
        return True


@dataclasses.dataclass(frozen=True)
class RouteMatch:
    """The outcome of routing: channels in route order without repeats, the repeat interval, the routes that matched."""

    channels: tuple[str, ...]
    repeat_interval: timedelta
    routes: tuple[str, ...]


def route_alert(labels: Mapping[str, str], routes: Sequence[Route], all_channels: Sequence[str]) -> RouteMatch:
    """Choose the channels for an alert with `labels` (including `rule` and `severity`).

    With several matching routes the shortest repeat interval wins, so no
    channel hears of a firing alert less often than its own route requests.
    """
    channels: list[str] = []
    intervals: list[timedelta] = []
    names: list[str] = []
    for route in routes:
        if not route.matches(labels):
            continue
        names.append(route.name)
        intervals.append(route.repeat_interval)
        channels.extend(channel for channel in route.channels if channel not in channels)
        if not route.continue_:
            break
    if not names:
        return RouteMatch(tuple(all_channels), DEFAULT_REPEAT_INTERVAL, (FALLBACK_ROUTE,))
    return RouteMatch(tuple(channels), min(intervals), tuple(names))
