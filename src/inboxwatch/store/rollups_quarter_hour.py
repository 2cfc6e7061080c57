"""15-minute rollup counters: the per-minute increments of a batch, summed by quarter hour and added with one upsert.

Every 15-minute row must equal the sum of the minute rows of its quarter
hour, because `metrics` reads them beside the minutes and must return what
the minutes alone would. So callers pass the same minute increments (or
negative decrements) that they have just upserted into the per-minute
rollups, in the same transaction: `store_rows`, and
`bounce_matches.delete_counted_events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.rollups import coarser_increments, counter_upsert
from inboxwatch.store.schema import rollups_quarter_hour

__all__ = ["add_quarter_hour_rollups", "quarter_hour_increments", "quarter_hour_start"]


QUARTER_HOUR_UPSERT = counter_upsert(rollups_quarter_hour)


def quarter_hour_start(minute: datetime) -> datetime:
    """Return the start of the 15-minute bucket (:00, :15, :30 or :45) containing `minute`."""
    return minute.replace(minute=minute.minute - minute.minute % 15, second=0, microsecond=0)


def quarter_hour_increments(increments: Iterable[Sequence]) -> list[tuple]:
    """Sum minute increments into one row per quarter hour and dimensions (see `rollups.coarser_increments`)."""
    return coarser_increments(increments, quarter_hour_start)


def add_quarter_hour_rollups(conn: sa.Connection, increments: Iterable[Sequence]) -> None:
    """Add minute increments to the 15-minute rollups, in the caller's transaction.

    `increments` are the rows that were just added to the per-minute
    rollups, as `rollups.add_rollups` returns them.
    """
    QUARTER_HOUR_UPSERT.execute(conn, quarter_hour_increments(increments))
