"""Job leases: which process may run a scheduled job that must run once across processes.

A lease is one row of `leases` per job name. A holder takes a free or
expired lease, or renews its own, with a conditional UPDATE whose row count
shows whether it won, and creates a missing row with INSERT ... ON CONFLICT
DO NOTHING ... RETURNING. Both work the same on SQLite and PostgreSQL, so when several
processes try at once exactly one of them holds the lease afterwards.

A holder that stops renewing (it crashed, or lost its database connection)
keeps the lease until `expires_at`, and the next holder takes it over then.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import leases
from inboxwatch.store.upsert import dialect_insert


@dataclasses.dataclass(frozen=True)
class Lease:
    """The stored state of one job's lease."""

    name: str
    holder: str
    acquired_at: datetime
    expires_at: datetime


def acquire(conn: sa.Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take the lease `name` for `holder` until `now + ttl`, or renew it if `holder` already has it.

    Return False when another holder's lease is still live at `now`. The
    caller commits right after, so other processes see the lease before the
    job starts. `acquired_at` keeps the time the current holder first took
    the lease, so renewals do not move it.
    """
    if ttl <= timedelta(0):
        raise ValueError("invalid lease TTL %s for %r: expected a positive duration" % (ttl, name))
    now = as_utc(now)
    expires_at = now + ttl
    updated = conn.execute(
        leases.update()
        .where(leases.c.name == name)
        .where(sa.or_(leases.c.holder == holder, leases.c.expires_at <= now))
        .values(
            holder=holder,
            acquired_at=sa.case((leases.c.holder == holder, leases.c.acquired_at), else_=now),
            expires_at=expires_at,
        )
    )
    if updated.rowcount == 1:
        return True

    # No row yet, or another holder's live lease. When two processes insert
    # the first row at once, the primary key lets exactly one of them in.
    # RETURNING shows whether this insert added the row, because through psycopg 3 and
    # SQLAlchemy 2.1 the row count of this statement reads -1 on PostgreSQL.
    inserted = conn.execute(
        dialect_insert(conn, leases)
        .values(name=name, holder=holder, acquired_at=now, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[leases.c.name])
        .returning(leases.c.name)
    )
    return inserted.first() is not None


def release(conn: sa.Connection, name: str, holder: str) -> bool:
    """Give up the lease `name` if `holder` has it, so another process can take it at once.

    Return False when `holder` did not have it, for instance because it had
    expired and another holder took it over; that lease is left alone.
    """
    released = conn.execute(leases.delete().where(leases.c.name == name).where(leases.c.holder == holder))
    return released.rowcount == 1


def get_lease(conn: sa.Connection, name: str) -> Lease | None:
    """Return the stored lease `name`, live or expired, or None when no holder has taken it."""
    row = conn.execute(sa.select(leases).where(leases.c.name == name)).mappings().one_or_none()
    if row is None:
        return None
    return Lease(
        name=row["name"],
        holder=row["holder"],
        acquired_at=as_utc(row["acquired_at"]),
        expires_at=as_utc(row["expires_at"]),
    )
