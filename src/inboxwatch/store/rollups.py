"""Per-minute rollup counters: summing inserted events and adding them with one upsert.

Metrics read the rollups, never the raw events, so the rollups must always
equal the counts of the stored events. Callers pass only events that their
transaction inserted, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from inboxwatch.model.events import EventType
from inboxwatch.store.bulk import BulkInsert
from inboxwatch.store.schema import rollups
from inboxwatch.store.upsert import insert_for_dialect

# The rollup columns that group counts; the unique key is these plus `bucket`.
ROLLUP_DIMENSIONS = ("tenant", "provider", "sending_ip", "sending_domain", "campaign")

# One rollup counter per event type, named like the type, plus hard_bounced.
COUNTER_COLUMNS = tuple(event_type.value for event_type in EventType) + ("hard_bounced",)

ROLLUP_COLUMNS = ("bucket",) + ROLLUP_DIMENSIONS + COUNTER_COLUMNS

COUNTER_INDEX = {name: index for index, name in enumerate(COUNTER_COLUMNS)}

# The facts of one event that a rollup counts: UTC time, type value, hard,
# then the values of ROLLUP_DIMENSIONS.
RollupFacts = tuple[datetime, str, bool | None, str, str, str, str, str]


def counter_upsert(table: sa.Table) -> BulkInsert:
    """Return the bulk upsert that adds rows in ROLLUP_COLUMNS order to the counters of a rollup table."""

    def build(dialect: Dialect):
        statement = insert_for_dialect(dialect, table)
        return statement.on_conflict_do_update(
            index_elements=[table.c.bucket] + [table.c[name] for name in ROLLUP_DIMENSIONS],
            set_={column: table.c[column] + statement.excluded[column] for column in COUNTER_COLUMNS},
        )

    return BulkInsert(build, ROLLUP_COLUMNS)


ROLLUP_UPSERT = counter_upsert(rollups)


def coarser_increments(increments: Iterable[Sequence], bucket_start: Callable[[datetime], datetime]) -> list[tuple]:
    """Sum minute increments (rows in ROLLUP_COLUMNS order, UTC buckets) into one row per coarser bucket and dimensions.

    Rows come sorted by their unique key, for the same reason as in
    `rollup_increments`: concurrent writers on PostgreSQL then lock shared
    rows in the same order. Every writer upserts its minutes, then its
    quarter hours, then its hours, so the order is the same across the tables.
    """
    counters_start = 1 + len(ROLLUP_DIMENSIONS)
    totals: dict[tuple, list[int]] = {}
    for row in increments:
        group = (bucket_start(row[0]),) + tuple(row[1:counters_start])
        total = totals.get(group)
        if total is None:
            totals[group] = list(row[counters_start:])
        else:
            for position, value in enumerate(row[counters_start:]):
                total[position] += value
    return [group + tuple(total) for group, total in sorted(totals.items())]


def rollup_increments(facts: Iterable[RollupFacts]) -> list[tuple]:
    """Sum events into one row per minute and dimensions, in ROLLUP_COLUMNS order.

    Rows come sorted by their unique key, so concurrent writers on PostgreSQL
    lock the rollup rows they share in the same order, which rules out
    deadlocks between their rollup upserts.
    """
    hard_index = COUNTER_INDEX["hard_bounced"]
    bounced = EventType.BOUNCED.value
    totals: dict[tuple, list[int]] = {}
    # Events of a log share their seconds, and a look-up costs less than datetime.replace.
    minutes: dict[datetime, datetime] = {}
    for time, event_type, hard, tenant, provider, sending_ip, sending_domain, campaign in facts:
        minute = minutes.get(time)
        if minute is None:
            minute = minutes[time] = time.replace(second=0, microsecond=0)
        group = (minute, tenant, provider, sending_ip, sending_domain, campaign)
        counters = totals.get(group)
        if counters is None:
            counters = totals[group] = [0] * len(COUNTER_COLUMNS)
        counters[COUNTER_INDEX[event_type]] += 1
        if hard and event_type == bounced:
            counters[hard_index] += 1
    return [group + tuple(counters) for group, counters in sorted(totals.items())]


def add_rollups(conn: sa.Connection, facts: Iterable[RollupFacts]) -> list[tuple]:
    """Add the events' counts to the rollups, one upsert row per distinct minute and dimensions.

    Returns the rows added, in ROLLUP_COLUMNS order, for `rollups_hourly.add_hourly_rollups`.
    """
    increments = rollup_increments(facts)
    ROLLUP_UPSERT.execute(conn, increments)
    return increments
