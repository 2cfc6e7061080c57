"""Syslog line prefixes: timestamp, host, program and pid in front of a message.

Three prefix forms are read:

* RFC 3164 (BSD syslog): ``Mmm dd hh:mm:ss host prog[pid]: msg``. The
  timestamp has no year and no zone, so `TimestampReader` infers the year from
  `ParseContext.reference_time` and applies `ParseContext.timezone`.
* ISO 8601 (rsyslog ``RSYSLOG_FileFormat``, journald short-iso):
  ``2024-01-02T03:04:05.123456+01:00 host prog[pid]: msg``, also with a
  space in place of the ``T``.
* RFC 5424: ``<pri>1 timestamp host app procid msgid structured-data msg``
  (section 6), with ``-`` for an absent field.

An optional ``<pri>`` in front of the RFC 3164 and ISO forms is skipped too,
because some relays write it to files. Parsing is split in two steps because
most lines of a mail log are skipped by the format parsers: `split_prefix`
only slices the line, and the timestamp is converted only when a parser needs
it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

MONTHS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
    "Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}  # fmt: skip

# RFC 3164 as some writers emit it, with the day not padded to two characters.
LOOSE_RFC3164 = re.compile(r"([A-Z][a-z]{2}) (\d) (\d\d:\d\d:\d\d) ")

# "host prog[pid]: msg" or "host prog: msg" after the timestamp. The program
# may contain slashes and dots (postfix-out/smtp, postfix/submission/smtpd).
HOST_AND_TAG = re.compile(r"(\S+) ([^\s\[\]:]+)(?:\[(\d+)\])?: ?")

# RFC 5424 section 6: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP.
RFC5424_HEADER = re.compile(r"1 (\S+) (\S+) (\S+) (\S+) (\S+) ")
RFC5424_SD_ELEMENT = re.compile(r'\[[^\]"]*(?:"(?:[^"\\]|\\.)*"[^\]"]*)*\]')

# An ISO 8601 timestamp as rsyslog and Exim write it: a 'T' or a space between
# date and time, optional fraction, optional zone (Z, +01:00 or +0100).
ISO_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
    r"(?: ?(Z|[+-]\d\d:?\d\d))?"
)

# How far past the reference time a yearless timestamp may fall before it is
# taken as last year's. Clocks and zones differ between the writer and the
# file's mtime, so a day of slack avoids pushing today's lines back a year.
YEAR_ROLLOVER_SLACK = timedelta(days=1)

# Distinct timestamps whose conversion is cached; a log repeats the same
# second on many consecutive lines.
TIMESTAMP_CACHE_SIZE = 4096

# The seconds field of an RFC 3164 timestamp as written ("00" to "59"), to
# the offset from the start of its minute.
SECOND_OFFSETS = {"%02d" % second: timedelta(seconds=second) for second in range(60)}


class SyslogPrefix(NamedTuple):
    """The parts of one syslog line. `timestamp` is the raw text; `pid` may be None."""

    timestamp: str
    host: str
    program: str
    pid: str | None
    message: str


def strip_priority(line: str) -> str:
    """Remove a leading ``<pri>`` (RFC 5424 section 6.2.1) if there is one."""
    if line.startswith("<"):
        end = line.find(">", 1, 5)
        if end > 1 and line[1:end].isdigit():
            return line[end + 1 :]
    return line


def is_rfc3164_timestamp(line: str) -> bool:
    return len(line) > 15 and line[3] == " " and line[9] == ":" and line[12] == ":" and line[:3] in MONTHS


def split_prefix(line: str) -> SyslogPrefix | None:
    """Split a syslog line into its prefix fields and the message.

    Returns None when the line has no syslog prefix, for example the second
    physical line of a wrapped message or a bare Exim mainlog line.
    """
    line = strip_priority(line)
    if is_rfc3164_timestamp(line):
        timestamp, rest_start = line[:15], 16
    elif (loose := LOOSE_RFC3164.match(line)) is not None and loose.group(1) in MONTHS:
        month, day, clock = loose.groups()
        timestamp, rest_start = "%s  %s %s" % (month, day, clock), loose.end()
    elif line[:2] == "1 ":
        return split_rfc5424(line)
    elif len(line) > 20 and line[4] == "-" and line[10] in "T ":
        rest_start = line.find(" ", 19) + 1
        if rest_start <= 0:
            return None
        timestamp = line[: rest_start - 1]
    else:
        return None
    match = HOST_AND_TAG.match(line, rest_start)
    if match is None:
        return None
    host, program, pid = match.groups()
    return SyslogPrefix(timestamp, host, program, pid, line[match.end() :])


def split_rfc5424(line: str) -> SyslogPrefix | None:
    match = RFC5424_HEADER.match(line)
    if match is None:
        return None
    timestamp, host, program, pid, _msgid = match.groups()
    rest = line[match.end() :]
    if rest.startswith("-"):
        rest = rest[1:]
    else:
        while rest.startswith("["):
            element = RFC5424_SD_ELEMENT.match(rest)
            if element is None:
                return None
            rest = rest[element.end() :]
    return SyslogPrefix(
        timestamp,
        "" if host == "-" else host,
        "" if program == "-" else program,
        None if pid == "-" else pid,
        rest[1:] if rest.startswith(" ") else rest,
    )


def parse_iso_timestamp(text: str, default_zone: tzinfo) -> datetime | None:
    """Parse an ISO 8601 timestamp at the start of `text`; a missing zone means `default_zone`."""
    match = ISO_TIMESTAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond)
    except ValueError:
        return None
    if zone is None:
        return moment.replace(tzinfo=default_zone)
    if zone == "Z":
        zone = "+00:00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    return datetime.fromisoformat(moment.isoformat() + zone)


class TimestampReader:
    """Convert syslog timestamps to aware datetimes, inferring the year of RFC 3164 ones.

    A yearless timestamp gets the latest year that puts its day no later
    than the day after `reference_time`: a log read on 2 January whose first
    lines read "Dec 31" belongs to the old year. Each line is placed on its
    own, so a log spanning New Year, or a line out of order, gets the right
    year as long as the whole log covers less than a year. February 29 goes
    back to the last leap year.
    """

    def __init__(self, reference_time: datetime, zone: tzinfo) -> None:
        self.zone = zone
        if reference_time.tzinfo is None:
            reference_time = reference_time.replace(tzinfo=zone)
        self.latest = reference_time + YEAR_ROLLOVER_SLACK
        self.cache: dict[str, datetime | None] = {}
        # The start of each "Mmm dd hh:mm" minute, for RFC 3164 timestamps.
        self.minutes: dict[str, datetime | None] = {}
        # The year chosen for each "Mmm dd", so a year is decided once per day.
        self.years: dict[str, int | None] = {}

    def read(self, timestamp: str) -> datetime | None:
        """Return the time of a timestamp in any supported form, or None when it is invalid."""
        cached = self.cache.get(timestamp, False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        if len(self.cache) >= TIMESTAMP_CACHE_SIZE:
            self.cache.clear()
        if is_rfc3164_timestamp(timestamp + " "):
            moment = self.read_rfc3164(timestamp)
        else:
            moment = parse_iso_timestamp(timestamp, self.zone)
        self.cache[timestamp] = moment
        return moment

    def read_rfc3164(self, timestamp: str) -> datetime | None:
        """Convert an RFC 3164 timestamp as the start of its minute plus its seconds.

        A busy log has a new second every few lines, so the whole-string
        cache of `read` rarely hits, but the minute repeats. Adding a
        timedelta to an aware datetime moves its wall-clock fields and keeps
        its zone, so the sum equals the datetime built from all the fields.
        """
        offset = SECOND_OFFSETS.get(timestamp[13:15])
        if offset is None:
            return self.convert_rfc3164(timestamp)
        if len(self.minutes) >= TIMESTAMP_CACHE_SIZE:
            self.minutes.clear()
        minute_key = timestamp[:12]
        start = self.minutes.get(minute_key, False)
        if start is False:
            start = self.minutes[minute_key] = self.convert_rfc3164(minute_key + ":00")
        return None if start is None else start + offset  # type: ignore[operator]

    def convert_rfc3164(self, timestamp: str) -> datetime | None:
        try:
            hour, minute, second = int(timestamp[7:9]), int(timestamp[10:12]), int(timestamp[13:15])
        except ValueError:
            return None
        day_key = timestamp[:6]
        if day_key not in self.years:
            self.years[day_key] = self.choose_year(day_key)
        year = self.years[day_key]
        if year is None:
            return None
        try:
            return datetime(year, MONTHS[day_key[:3]], int(day_key[4:6]), hour, minute, second, tzinfo=self.zone)
        except ValueError:
            return None

    def choose_year(self, day_key: str) -> int | None:
        """Return the latest year in which "Mmm dd" falls on or before the day of `latest`."""
        try:
            month = MONTHS[day_key[:3]]
            day = int(day_key[4:6])
        except (KeyError, ValueError):
            return None
        latest_day = self.latest.date()
        for year in range(latest_day.year, latest_day.year - 8, -1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                # February 29 in a common year goes on to an earlier year;
                # a day that no month has fails in every year.
                if month == 2 and day == 29:
                    continue
                return None
            if candidate <= latest_day:
                return year
        return None
