"""15-minute rollups: rollups_quarter_hour, filled from the existing per-minute rollups.

Revision ID: 0011_rollups_quarter_hour
Revises: 0010_rollups_hourly
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.

The backfill truncates buckets to the quarter hour in Python, for the same
reason as 0010_rollups_hourly: SQLite and PostgreSQL have no common
expression for it. Minute rows are read one day of buckets at a time, so
memory stays flat for any history.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "0011_rollups_quarter_hour"
down_revision = "0010_rollups_hourly"
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)

DIMENSIONS = ("tenant", "provider", "sending_ip", "sending_domain", "campaign")
COUNTERS = (
    "sent", "delivered", "deferred", "bounced", "hard_bounced", "complained", "opened", "clicked", "unsubscribed",
    "dropped",
)

# Minute buckets read per backfill query: a day is 1,440 minutes times the groups per minute.
BACKFILL_SPAN = timedelta(days=1)

# Rows per INSERT executemany, so that a day of many groups is not one huge parameter list.
INSERT_BATCH = 20_000


def rollup_table(name: str) -> sa.TableClause:
    """Return a lightweight description of a rollup table, typed so that times are converted on both backends."""
    columns = [sa.column("bucket", TIME)] + [sa.column(name, sa.String()) for name in DIMENSIONS]
    columns += [sa.column(name, sa.Integer()) for name in COUNTERS]
    return sa.table(name, *columns)


def upgrade() -> None:
    op.create_table(
        "rollups_quarter_hour",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("bucket", TIME, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sending_ip", sa.String(45), nullable=False),
        sa.Column("sending_domain", sa.String(255), nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("id", name="pk_rollups_quarter_hour"),
        sa.UniqueConstraint(*(("bucket",) + DIMENSIONS), name="uq_rollups_quarter_hour_bucket_dimensions"),
    )
    op.create_index("ix_rollups_quarter_hour_tenant_bucket", "rollups_quarter_hour", ["tenant", "bucket"])
    backfill(op.get_bind())


def as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes that are UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def quarter_hour_start(value: datetime) -> datetime:
    value = as_utc(value)
    return value.replace(minute=value.minute - value.minute % 15, second=0, microsecond=0)


def backfill(conn: sa.Connection) -> None:
    """Insert one 15-minute row per quarter hour and dimensions that the minute rollups contain, summing their counters."""
    minutes = rollup_table("rollups")
    quarters = rollup_table("rollups_quarter_hour")
    read = sa.select(minutes.c.bucket, *(minutes.c[name] for name in DIMENSIONS + COUNTERS))
    names = ("bucket",) + DIMENSIONS + COUNTERS
    first = conn.execute(sa.select(sa.func.min(minutes.c.bucket))).scalar_one()
    while first is not None:
        # Spans start on an hour, so no quarter hour is split between two spans.
        start = as_utc(first).replace(minute=0, second=0, microsecond=0)
        end = start + BACKFILL_SPAN
        totals: dict[tuple, list[int]] = {}
        for row in conn.execute(read.where(minutes.c.bucket >= start, minutes.c.bucket < end)):
            group = (quarter_hour_start(row[0]),) + tuple(row[1 : 1 + len(DIMENSIONS)])
            counters = row[1 + len(DIMENSIONS) :]
            total = totals.get(group)
            if total is None:
                totals[group] = list(counters)
            else:
                for position, value in enumerate(counters):
                    total[position] += value
        rows = [dict(zip(names, group + tuple(total))) for group, total in totals.items()]
        for offset in range(0, len(rows), INSERT_BATCH):
            conn.execute(sa.insert(quarters), rows[offset : offset + INSERT_BATCH])
        first = conn.execute(sa.select(sa.func.min(minutes.c.bucket)).where(minutes.c.bucket >= end)).scalar_one()


def downgrade() -> None:
    op.drop_index("ix_rollups_quarter_hour_tenant_bucket", table_name="rollups_quarter_hour")
    op.drop_table("rollups_quarter_hour")
