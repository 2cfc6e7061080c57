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
from sqlalchemy.engine import Dialect

from inboxwatch.store.bulk import BulkInsert
from inboxwatch.store.rollups import COUNTER_COLUMNS, ROLLUP_COLUMNS, ROLLUP_DIMENSIONS
from inboxwatch.store.schema import rollups_quarter_hour
from inboxwatch.store.upsert import insert_for_dialect

__all__ = ["add_quarter_hour_rollups", "quarter_hour_increments", "quarter_hour_start"]


def quarter_hour_upsert(dialect: Dialect):
    statement = insert_for_dialect(dialect, rollups_quarter_hour)
    return statement.on_conflict_do_update(
        index_elements=[rollups_quarter_hour.c.bucket] + [rollups_quarter_hour.c[name] for name in ROLLUP_DIMENSIONS],
        set_={column: rollups_quarter_hour.c[column] + statement.excluded[column] for column in COUNTER_COLUMNS},
    )


QUARTER_HOUR_UPSERT = BulkInsert(quarter_hour_upsert, ROLLUP_COLUMNS)


def quarter_hour_start(minute: datetime) -> datetime:
    """Return the start of the 15-minute bucket (:00, :15, :30 or :45) containing `minute`."""
    return minute.replace(minute=minute.minute - minute.minute % 15, second=0, microsecond=0)


def quarter_hour_increments(increments: Iterable[Sequence]) -> list[tuple]:
    """Sum minute increments (rows in ROLLUP_COLUMNS order, UTC buckets) into one row per quarter hour and dimensions.

    Rows come sorted by their unique key, like the minute and hourly
    increments, so that concurrent writers on PostgreSQL lock shared rows in
    the same order. Every writer upserts its minutes, then its quarter
    hours, then its hours.
    """
    counters_start = 1 + len(ROLLUP_DIMENSIONS)
    totals: dict[tuple, list[int]] = {}
    for row in increments:
        group = (quarter_hour_start(row[0]),) + tuple(row[1:counters_start])
        total = totals.get(group)
        if total is None:
            totals[group] = list(row[counters_start:])
        else:
            for position, value in enumerate(row[counters_start:]):
                total[position] += value
    return [group + tuple(total) for group, total in sorted(totals.items())]


def add_quarter_hour_rollups(conn: sa.Connection, increments: Iterable[Sequence]) -> None:
    """Add minute increments to the 15-minute rollups, in the caller's transaction.

    `increments` are the rows that were just added to the per-minute
    rollups, as `rollups.add_rollups` returns them.
    """
    QUARTER_HOUR_UPSERT.execute(conn, quarter_hour_increments(increments))
