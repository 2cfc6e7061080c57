"""Retention: deleting raw events and quarantine rows past their age limit.

All rollup tables (per-minute, 15-minute and hourly) are kept, so rates and
history stay available after the raw events behind them are gone, and the
15-minute and hourly rows keep equalling the sums of their minutes.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import events, quarantine

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RetentionResult:
    """Rows deleted by one retention run."""

    events_deleted: int
    quarantine_deleted: int


def delete_events_before(conn: sa.Connection, cutoff: datetime) -> int:
    """Delete raw events whose time is before `cutoff`; rollups are untouched. Returns the number deleted."""
    result = conn.execute(sa.delete(events).where(events.c.time < as_utc(cutoff)))
    return result.rowcount


def delete_quarantine_before(conn: sa.Connection, cutoff: datetime) -> int:
    """Delete quarantine rows received before `cutoff`. Returns the number deleted."""
    result = conn.execute(sa.delete(quarantine).where(quarantine.c.received_at < as_utc(cutoff)))
    return result.rowcount


def apply_retention(
    conn: sa.Connection,
    *,
    now: datetime,
    event_days: int,
    quarantine_days: int | None = None,
) -> RetentionResult:
    """Delete events older than `event_days` and quarantine rows older than `quarantine_days` (default: the same).

    Raises `ValueError` for a negative or zero number of days, which would
    delete everything up to now.
    """
    quarantine_days = event_days if quarantine_days is None else quarantine_days
    for name, days in (("event_days", event_days), ("quarantine_days", quarantine_days)):
        if days < 1:
            raise ValueError("invalid %s %r: expected a whole number of days, at least 1" % (name, days))
    result = RetentionResult(
        events_deleted=delete_events_before(conn, now - timedelta(days=event_days)),
        quarantine_deleted=delete_quarantine_before(conn, now - timedelta(days=quarantine_days)),
    )
    log.info(
        "retention deleted %d events older than %d days and %d quarantine rows older than %d days",
        result.events_deleted,
        event_days,
        result.quarantine_deleted,
        quarantine_days,
    )
    return result
