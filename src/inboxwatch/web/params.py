"""Query parameters shared by the API handlers: time ranges, steps and grouping dimensions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import HTTPException, Path
from pydantic import TypeAdapter, ValidationError

from inboxwatch.config.durations import MAX_DURATION, Duration, format_duration
from inboxwatch.store.metrics import DIMENSIONS

DEFAULT_RANGE = timedelta(hours=24)

DURATION = TypeAdapter(Duration)

# Times the API reads, [MIN_TIME, MAX_TIME). The upper bound leaves room
# below datetime's year-9999 limit for adding a step or a duration of up to
# MAX_DURATION (100 years), so no time arithmetic overflows.
MIN_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_TIME = datetime(9000, 1, 1, tzinfo=timezone.utc)
TIME_RANGE_TEXT = "from %s to before %s" % (MIN_TIME.isoformat(), MAX_TIME.isoformat())

# Steps the API reads: from one minute, the rollup resolution, to MAX_DURATION.
MIN_STEP = timedelta(minutes=1)

# The largest id a row can have: a 64-bit signed integer, the range of PostgreSQL's bigint and SQLite's INTEGER.
MAX_ROW_ID = 2**63 - 1

# A path parameter naming a stored row; a value outside the id range gets 422 instead of a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

# Short names the API accepts for rollup dimensions.
DIMENSION_ALIASES = {"ip": "sending_ip", "domain": "sending_domain"}


def parse_time(text: str, name: str) -> datetime:
    """Read an ISO 8601 time; a naive one is UTC. Raises HTTPException 400 when invalid or outside the time bounds."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(400, "invalid %s %r: expected ISO 8601 such as 2026-03-01T10:00:00Z" % (name, text)) from None
    return bounded_time(value, name)


def bounded_time(value: datetime, name: str) -> datetime:
    """Return `value` in UTC (a naive one is UTC); raises HTTPException 400 naming `name` when it is outside [MIN_TIME, MAX_TIME)."""
    given = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    try:
        # Converting a time near year 1 or 9999 can leave the datetime range.
        utc_value = given.astimezone(timezone.utc)
    except OverflowError:
        utc_value = None
    if utc_value is None or not MIN_TIME <= utc_value < MAX_TIME:
        raise HTTPException(400, "invalid %s %s: expected a time %s" % (name, given.isoformat(), TIME_RANGE_TEXT))
    return utc_value


def time_range(start: str | None, end: str | None, clock: Callable[[], datetime]) -> tuple[datetime, datetime]:
    """Return [from, to): `to` defaults to now and `from` to 24 hours before `to`."""
    end_time = parse_time(end, "to") if end else clock()
    if start:
        start_time = parse_time(start, "from")
    elif end_time - MIN_TIME < DEFAULT_RANGE:
        raise HTTPException(400, "invalid to %r: it leaves no room for the default 24-hour range after %s; give from too" % (end, MIN_TIME.isoformat()))
    else:
        start_time = end_time - DEFAULT_RANGE
    if start_time >= end_time:
        raise HTTPException(400, "invalid time range: from %s is not before to %s" % (start_time.isoformat(), end_time.isoformat()))
    return start_time, end_time


def group_dimensions(text: str) -> tuple[str, ...]:
    """Read a comma-separated list of dimensions, accepting `ip` and `domain` as short names."""
    names = []
    for part in text.split(","):
        name = DIMENSION_ALIASES.get(part.strip(), part.strip())
        if not name:
            continue
        if name not in DIMENSIONS:
            known = ", ".join(sorted(set(DIMENSIONS) | set(DIMENSION_ALIASES)))
            raise HTTPException(400, "invalid group_by dimension %r: expected a comma-separated list of %s" % (part.strip(), known))
        names.append(name)
    return tuple(names)


def parse_step(text: str) -> timedelta:
    """Read a step length such as 5m, 1h or 1d: a whole number of minutes (the rollup resolution) up to MAX_DURATION."""
    allowed = "a whole number of minutes from 1m to %s, such as 5m, 1h or 1d" % format_duration(MAX_DURATION)
    try:
        step = DURATION.validate_python(text)
    except ValidationError:
        raise HTTPException(400, "invalid step %r: expected %s" % (text, allowed)) from None
    if step < MIN_STEP or step % MIN_STEP:
        raise HTTPException(400, "invalid step %r: expected %s" % (text, allowed))
    return step
