"""Hourly rollup counters: the per-minute increments of a batch, summed by hour and added with one upsert.

Every hourly row must equal the sum of the minute rows of its hour, because
`metrics` reads hours and minutes side by side and must return what the
minutes alone would. So every writer passes the minute increments it has
just upserted, in the same transaction: `store_rows` for the events it
inserted, and `bounce_matches.delete_counted_events` (negative increments)
for the events it deletes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.rollups import coarser_increments, counter_upsert
from inboxwatch.store.schema import rollups_hourly

__all__ = ["add_hourly_rollups", "hourly_increments"]


HOURLY_UPSERT = counter_upsert(rollups_hourly)


def hour_start(minute: datetime) -> datetime:
    return minute.replace(minute=0, second=0, microsecond=0)


def hourly_increments(increments: Iterable[Sequence]) -> list[tuple]:
    """Sum minute increments into one row per hour and dimensions (see `rollups.coarser_increments`)."""
    return coarser_increments(increments, hour_start)


def add_hourly_rollups(conn: sa.Connection, increments: Iterable[Sequence]) -> None:
    """Add minute increments to the hourly rollups, in the caller's transaction.

    `increments` are the rows that were just added to the per-minute
    rollups, as `rollups.rollup_increments` returns them.
    """
    HOURLY_UPSERT.execute(conn, hourly_increments(increments))
