"""Outbox queries: claiming due notifications under a lease and recording outcomes.

A row moves from `pending` to `sent` or `failed`. While a sender works on a
row it holds a lease (`leased_until`). A claim is a conditional UPDATE whose
row count shows whether this sender won. That works the same on SQLite and
PostgreSQL, so two processes never send one row at the same time. A sender
that dies mid-send leaves its lease to expire, and the row is claimed again
(delivery is at least once).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import notification_attempts, outbox

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class OutboxRow:
    """A claimed outbox row. `attempts` already counts the claim that returned it."""

    id: int
    alert_id: int | None
    channel: str
    reason: str
    payload: dict[str, Any]
    idempotency_key: str
    created_at: datetime
    attempts: int
    last_error: str | None
    leased_until: datetime


def insert_if_new(
    connection: sa.Connection,
    *,
    alert_id: int,
    channel: str,
    reason: str,
    payload: dict[str, Any],
    idempotency_key: str,
    now: datetime,
) -> bool:
    """Queue one notification, due at `now`, unless a row with its idempotency key exists; return whether it was queued."""
    exists = connection.execute(sa.select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)).first()
    if exists is not None:
        return False
    connection.execute(
        outbox.insert().values(
            alert_id=alert_id,
            channel=channel,
            reason=reason,
            payload=payload,
            idempotency_key=idempotency_key,
            status=PENDING,
            created_at=as_utc(now),
            next_attempt_at=as_utc(now),
            attempts=0,
        )
    )
    return True


def due_ids(connection: sa.Connection, now: datetime, limit: int) -> list[int]:
    """List up to `limit` pending rows whose next attempt is due and that no live lease holds, oldest first."""
    query = (
        sa.select(outbox.c.id)
        .where(outbox.c.status == PENDING)
        .where(outbox.c.next_attempt_at <= now)
        .where(sa.or_(outbox.c.leased_until.is_(None), outbox.c.leased_until < now))
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
    )
    return list(connection.execute(query).scalars())


def claim(connection: sa.Connection, outbox_id: int, now: datetime, lease: timedelta) -> OutboxRow | None:
    """Take the lease on one pending row and count the attempt; return None if another sender holds it.

    The caller commits right after, so the lease is visible to other senders
    before the slow send starts.
    """
    leased_until = now + lease
    claimed = connection.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id)
        .where(outbox.c.status == PENDING)
        .where(sa.or_(outbox.c.leased_until.is_(None), outbox.c.leased_until < now))
        .values(leased_until=leased_until, attempts=outbox.c.attempts + 1)
    )
    if claimed.rowcount != 1:
        return None

    row = connection.execute(sa.select(outbox).where(outbox.c.id == outbox_id)).mappings().one()
    return OutboxRow(
        id=row["id"],
        alert_id=row["alert_id"],
        channel=row["channel"],
        reason=row["reason"],
        payload=row["payload"],
        idempotency_key=row["idempotency_key"],
        created_at=as_utc(row["created_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        leased_until=as_utc(row["leased_until"]),
    )


def mark_sent(connection: sa.Connection, outbox_id: int, now: datetime) -> None:
    """Record that the channel accepted the notification. Call only after it did."""
    connection.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id)
        .values(status=SENT, sent_at=now, leased_until=None, last_error=None)
    )
    record_attempt(connection, outbox_id, now, ok=True, retryable=None, error=None)


def schedule_retry(
    connection: sa.Connection, outbox_id: int, now: datetime, next_attempt_at: datetime, error: str
) -> None:
    """Record a failed attempt and release the lease so the row is due again at `next_attempt_at`."""
    connection.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id)
        .where(outbox.c.status == PENDING)
        .values(next_attempt_at=next_attempt_at, leased_until=None, last_error=error)
    )
    record_attempt(connection, outbox_id, now, ok=False, retryable=True, error=error)


def mark_failed(connection: sa.Connection, outbox_id: int, now: datetime, error: str, retryable: bool | None) -> None:
    """Record a failed attempt and stop retrying the row.

    A row that another sender already marked sent stays sent. `retryable`
    is what the channel reported, or None when no channel was tried.
    """
    connection.execute(
        outbox.update()
        .where(outbox.c.id == outbox_id)
        .where(outbox.c.status == PENDING)
        .values(status=FAILED, leased_until=None, last_error=error)
    )
    record_attempt(connection, outbox_id, now, ok=False, retryable=retryable, error=error)


def record_attempt(
    connection: sa.Connection, outbox_id: int, now: datetime, *, ok: bool, retryable: bool | None, error: str | None
) -> None:
    connection.execute(
        notification_attempts.insert().values(outbox_id=outbox_id, time=now, ok=ok, retryable=retryable, error=error)
    )


def outbox_depth(connection: sa.Connection) -> int:
    """Count the notifications still pending, due or not."""
    query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == PENDING)
    return connection.execute(query).scalar_one()


def count_by_status(connection: sa.Connection) -> dict[str, int]:
    """Count outbox rows per status, including `failed` ones that need attention."""
    query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
    counts = {PENDING: 0, SENT: 0, FAILED: 0}
    counts.update({status: count for status, count in connection.execute(query)})
    return counts


@dataclasses.dataclass(frozen=True)
class AttemptRecord:
    """One notification attempt with its outbox row's channel, reason and current status."""

    time: datetime
    outbox_id: int
    alert_id: int | None
    channel: str
    reason: str
    ok: bool
    retryable: bool | None
    error: str | None
    status: str


def list_attempts(connection: sa.Connection, channel: str | None = None, limit: int = 50) -> list[AttemptRecord]:
    """List the latest notification attempts, newest first, optionally of one channel only."""
    query = (
        sa.select(
            notification_attempts.c.time,
            notification_attempts.c.outbox_id,
            notification_attempts.c.ok,
            notification_attempts.c.retryable,
            notification_attempts.c.error,
            outbox.c.alert_id,
            outbox.c.channel,
            outbox.c.reason,
            outbox.c.status,
        )
        .join(outbox, outbox.c.id == notification_attempts.c.outbox_id)
        .order_by(notification_attempts.c.time.desc(), notification_attempts.c.id.desc())
        .limit(limit)
    )
    if channel is not None:
        query = query.where(outbox.c.channel == channel)
    return [
        AttemptRecord(
            time=as_utc(row["time"]),
            outbox_id=row["outbox_id"],
            alert_id=row["alert_id"],
            channel=row["channel"],
            reason=row["reason"],
            ok=row["ok"],
            retryable=row["retryable"],
            error=row["error"],
            status=row["status"],
        )
        for row in connection.execute(query).mappings()
    ]
