"""Durations and rates as written in the configuration file.

A duration is a string of whole numbers with units, such as "30s", "5m",
"1h" or "1h30m". A rate is a fraction from 0 to 1 (0.95) or a percentage
string ("95%").
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

DURATION_PATTERN = re.compile(r"(?:\d+[smhd])+")
DURATION_PART = re.compile(r"(\d+)([smhd])")

DURATION_EXAMPLES = 'a duration such as "30s", "5m", "1h" or "1h30m"'

# The maximum duration read: 100 years. Bounding it keeps `timedelta` and
# time arithmetic such as `now + duration` clear of OverflowError.
MAX_DURATION = timedelta(days=36500)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as "5m" or "1h30m"; raise ValueError naming the expected form, or the maximum when it is longer."""
    compact = text.strip().lower()
    if not DURATION_PATTERN.fullmatch(compact):
        raise ValueError("expected %s (units s, m, h, d)" % DURATION_EXAMPLES)
    seconds = sum(int(number) * UNIT_SECONDS[unit] for number, unit in DURATION_PART.findall(compact))
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError("duration %r is too long: the maximum is %s (100 years)" % (text, format_duration(MAX_DURATION)))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a duration back in the shortest form `parse_duration` reads, such as "1h30m"."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNIT_SECONDS[unit])
        if count:
            parts.append("%d%s" % (count, unit))
    return "".join(parts)


def parse_rate(value: Any) -> float:
    """Read a rate written as a fraction (0.95) or a percentage string ("95%")."""
    if isinstance(value, bool):
        raise ValueError('expected a fraction from 0 to 1 such as 0.95, or a percentage such as "95%"')
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            fraction = float(value.strip()[:-1]) / 100
        except ValueError:
            raise ValueError('expected a percentage such as "95%"') from None
    elif isinstance(value, (int, float)):
        fraction = float(value)
    else:
        raise ValueError('expected a fraction from 0 to 1 such as 0.95, or a percentage such as "95%"')
    if not 0.0 <= fraction <= 1.0:
        raise ValueError('expected a fraction from 0 to 1 such as 0.95, or a percentage such as "95%"')
    return fraction


def _to_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("expected %s" % DURATION_EXAMPLES)
    return parse_duration(value)


# A timedelta read from a duration string and written back as one.
Duration = Annotated[timedelta, BeforeValidator(_to_duration), PlainSerializer(format_duration, return_type=str)]

# A fraction from 0 to 1, read from a fraction or a percentage string.
Rate = Annotated[float, BeforeValidator(parse_rate)]
