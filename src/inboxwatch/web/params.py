"""Query parameters shared by the API handlers: time ranges, steps and grouping dimensions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import HTTPException, Path
from pydantic import TypeAdapter, ValidationError

from inboxwatch.config.durations import Duration
from inboxwatch.store.metrics import DIMENSIONS

DEFAULT_RANGE = timedelta(hours=24)

DURATION = TypeAdapter(Duration)

# The largest id a row can have: a 64-bit signed integer, the range of PostgreSQL's bigint and SQLite's INTEGER.
MAX_ROW_ID = 2**63 - 1

# A path parameter naming a stored row; a value outside the id range gets 422 instead of a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

# Short names the API accepts for rollup dimensions.
DIMENSION_ALIASES = {"ip": "sending_ip", "domain": "sending_domain"}


def parse_time(text: str, name: str) -> datetime:
    """Read an ISO 8601 time; a naive one is UTC. Raises HTTPException 400 otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        # Converting a time near year 1 or 9999 can leave the datetime range.
        return value.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise HTTPException(400, "invalid %s %r: expected ISO 8601 such as 2026-03-01T10:00:00Z" % (name, text)) from None


def time_range(start: str | None, end: str | None, clock: Callable[[], datetime]) -> tuple[datetime, datetime]:
    """Return [from, to): `to` defaults to now and `from` to 24 hours before `to`."""
    end_time = parse_time(end, "to") if end else clock()
    if start:
        start_time = parse_time(start, "from")
    elif end_time - datetime.min.replace(tzinfo=timezone.utc) < DEFAULT_RANGE:
        raise HTTPException(400, "invalid to %r: it leaves no room for the default 24-hour range; give from too" % end)
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
            raise HTTPException(400, "invalid group_by dimension %r: expected some of %s" % (part.strip(), known))
        names.append(name)
    return tuple(names)


def parse_step(text: str) -> timedelta:
    """Read a step length such as 5m, 1h or 1d; it must be a whole number of minutes, the rollup resolution."""
    try:
        step = DURATION.validate_python(text)
    except ValidationError:
        raise HTTPException(400, "invalid step %r: expected a duration such as 5m, 1h or 1d" % text) from None
    if step < timedelta(minutes=1) or step % timedelta(minutes=1):
        raise HTTPException(400, "invalid step %r: expected a whole number of minutes" % text)
    return step
