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

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from inboxwatch.store.bulk import BulkInsert
from inboxwatch.store.rollups import COUNTER_COLUMNS, ROLLUP_COLUMNS, ROLLUP_DIMENSIONS
from inboxwatch.store.schema import rollups_hourly
from inboxwatch.store.upsert import insert_for_dialect

__all__ = ["add_hourly_rollups", "hourly_increments"]


def hourly_upsert(dialect: Dialect):
    statement = insert_for_dialect(dialect, rollups_hourly)
    return statement.on_conflict_do_update(
        index_elements=[rollups_hourly.c.bucket] + [rollups_hourly.c[name] for name in ROLLUP_DIMENSIONS],
        set_={column: rollups_hourly.c[column] + statement.excluded[column] for column in COUNTER_COLUMNS},
    )


HOURLY_UPSERT = BulkInsert(hourly_upsert, ROLLUP_COLUMNS)


def hourly_increments(increments: Iterable[Sequence]) -> list[tuple]:
    """Sum minute increments (rows in ROLLUP_COLUMNS order, UTC buckets) into one row per hour and dimensions.

    Rows come sorted by their unique key, for the same reason as in
    `rollups.rollup_increments`: concurrent writers on PostgreSQL then lock
    shared rows in the same order. Every writer upserts its minutes before
    its hours, so the order holds across both tables.
    """
    counters_start = 1 + len(ROLLUP_DIMENSIONS)
    totals: dict[tuple, list[int]] = {}
    for row in increments:
        group = (row[0].replace(minute=0, second=0, microsecond=0),) + tuple(row[1:counters_start])
        total = totals.get(group)
        if total is None:
            totals[group] = list(row[counters_start:])
        else:
            for position, value in enumerate(row[counters_start:]):
                total[position] += value
    return [group + tuple(total) for group, total in sorted(totals.items())]


def add_hourly_rollups(conn: sa.Connection, increments: Iterable[Sequence]) -> None:
    """Add minute increments to the hourly rollups, in the caller's transaction.

    `increments` are the rows that were just added to the per-minute
    rollups, as `rollups.rollup_increments` returns them.
    """
    HOURLY_UPSERT.execute(conn, hourly_increments(increments))
