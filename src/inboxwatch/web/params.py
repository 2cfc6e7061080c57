"""Query parameters shared by the API handlers: time ranges and grouping dimensions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from fastapi import HTTPException

from inboxwatch.store.metrics import DIMENSIONS

DEFAULT_RANGE = timedelta(hours=24)

# Short names the API accepts for rollup dimensions.
DIMENSION_ALIASES = {"ip": "sending_ip", "domain": "sending_domain"}


def parse_time(text: str, name: str) -> datetime:
    """Read an ISO 8601 time; a naive one is UTC. Raises HTTPException 400 otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(400, "invalid %s %r: expected ISO 8601 such as 2026-03-01T10:00:00Z" % (name, text)) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def time_range(start: str | None, end: str | None, clock: Callable[[], datetime]) -> tuple[datetime, datetime]:
    """Return [from, to): `to` defaults to now and `from` to 24 hours before `to`."""
    end_time = parse_time(end, "to") if end else clock()
    start_time = parse_time(start, "from") if start else end_time - DEFAULT_RANGE
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
