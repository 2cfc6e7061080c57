"""Hourly rollups: rollups_hourly, filled from the existing per-minute rollups.

Revision ID: 0010_rollups_hourly
Revises: 0009_leases
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.

The backfill truncates buckets to the hour in Python, because SQLite and
PostgreSQL have no common expression for it: SQLite keeps the times as text,
and PostgreSQL's date_trunc on timestamptz works in the session's time zone.
Minute rows are read one day of buckets at a time, so memory stays flat for
any history.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

revision = "0010_rollups_hourly"
down_revision = "0009_leases"
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


def rollup_table(name: str) -> sa.TableClause:
    """Return a lightweight description of a rollup table, typed so that times are converted on both backends."""
    columns = [sa.column("bucket", TIME)] + [sa.column(name, sa.String()) for name in DIMENSIONS]
    columns += [sa.column(name, sa.Integer()) for name in COUNTERS]
    return sa.table(name, *columns)


def upgrade() -> None:
    op.create_table(
        "rollups_hourly",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("bucket", TIME, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sending_ip", sa.String(45), nullable=False),
        sa.Column("sending_domain", sa.String(255), nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.PrimaryKeyConstraint("id", name="pk_rollups_hourly"),
        sa.UniqueConstraint(*(("bucket",) + DIMENSIONS), name="uq_rollups_hourly_bucket_dimensions"),
    )
    op.create_index("ix_rollups_hourly_tenant_bucket", "rollups_hourly", ["tenant", "bucket"])
    backfill(op.get_bind())


def as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes that are UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def backfill(conn: sa.Connection) -> None:
    """Insert one hourly row per hour and dimensions that the minute rollups contain, summing their counters."""
    minutes = rollup_table("rollups")
    hours = rollup_table("rollups_hourly")
    read = sa.select(minutes.c.bucket, *(minutes.c[name] for name in DIMENSIONS + COUNTERS))
    first = conn.execute(sa.select(sa.func.min(minutes.c.bucket))).scalar_one()
    while first is not None:
        # Spans start on an hour, so no hour is split between two spans.
        start = as_utc(first).replace(minute=0, second=0, microsecond=0)
        end = start + BACKFILL_SPAN
        totals: dict[tuple, list[int]] = {}
        for row in conn.execute(read.where(minutes.c.bucket >= start, minutes.c.bucket < end)):
            group = (as_utc(row[0]).replace(minute=0, second=0, microsecond=0),) + tuple(row[1 : 1 + len(DIMENSIONS)])
            counters = row[1 + len(DIMENSIONS) :]
            total = totals.get(group)
            if total is None:
                totals[group] = list(counters)
            else:
                for position, value in enumerate(counters):
                    total[position] += value
        if totals:
            names = ("bucket",) + DIMENSIONS + COUNTERS
            conn.execute(sa.insert(hours), [dict(zip(names, group + tuple(total))) for group, total in totals.items()])
        first = conn.execute(sa.select(sa.func.min(minutes.c.bucket)).where(minutes.c.bucket >= end)).scalar_one()


def downgrade() -> None:
    op.drop_index("ix_rollups_hourly_tenant_bucket", table_name="rollups_hourly")
    op.drop_table("rollups_hourly")
