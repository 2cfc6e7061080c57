"""Figures for monitoring views that no other store module provides: alert counts and the newest event."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import alerts, events


def count_alerts(conn: sa.Connection) -> dict[tuple[str, str], int]:
    """Count alerts per (state, severity), resolved ones included."""
    query = sa.select(alerts.c.state, alerts.c.severity, sa.func.count()).group_by(alerts.c.state, alerts.c.severity)
    return {(state, severity): count for state, severity, count in conn.execute(query)}


def newest_event_time(conn: sa.Connection) -> datetime | None:
    """Return the time of the newest stored event, or None when there are none."""
    value = conn.execute(sa.select(sa.func.max(events.c.time))).scalar_one()
    return as_utc(value) if value is not None else None
