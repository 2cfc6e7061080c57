"""The notification log, the decision log and group notifications in the outbox.

All writes happen in the caller's transaction, together with the alert
changes that caused them, so a group is marked notified exactly when its
outbox rows are committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.model.notification_log import GroupLogEntry
from inboxwatch.store.alert_snapshots import route_from_json, route_to_json
from inboxwatch.store.db import as_utc
from inboxwatch.store.outbox import insert_if_new
from inboxwatch.store.schema import notification_decisions, notification_log


def load_log(conn: sa.Connection) -> dict[str, GroupLogEntry]:
    """Return every group's log entry by group key."""
    entries = {}
    for row in conn.execute(sa.select(notification_log)).mappings():
        entries[row["group_key"]] = GroupLogEntry(
            group_key=row["group_key"],
            route=route_from_json(row["settings"]),
            group_labels=dict(row["group_labels"] or {}),
            first_active_at=utc_or_none(row["first_active_at"]),
            last_sent_at=utc_or_none(row["last_sent_at"]),
            last_reason=row["last_reason"],
            sent_firing=dict(row["sent_firing"] or {}),
            last_decision=row["last_decision"],
        )
    return entries


def save_entries(conn: sa.Connection, entries: Sequence[GroupLogEntry], existing: Mapping[str, GroupLogEntry], now: datetime) -> None:
    """Insert or update log entries; `existing` is the log as loaded at the start of the transaction."""
    inserts = []
    updates = []
    for entry in entries:
        values = entry_values(entry, now)
        if entry.group_key in existing:
            updates.append({"key": entry.group_key, **values})
        else:
            inserts.append({"group_key": entry.group_key, **values})
    if inserts:
        conn.execute(notification_log.insert(), inserts)
    if updates:
        conn.execute(notification_log.update().where(notification_log.c.group_key == sa.bindparam("key")), updates)


def entry_values(entry: GroupLogEntry, now: datetime) -> dict[str, Any]:
    return {
        "route": entry.route.route,
        "group_labels": dict(entry.group_labels),
        "settings": route_to_json(entry.route),
        "first_active_at": utc_or_none(entry.first_active_at),
        "last_sent_at": utc_or_none(entry.last_sent_at),
        "last_reason": entry.last_reason,
        "sent_firing": dict(entry.sent_firing),
        "last_decision": entry.last_decision,
        "updated_at": as_utc(now),
    }


def record_decisions(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append decision rows: dicts with alert_id, time, action, reason, group_key, route and channels."""
    if rows:
        conn.execute(notification_decisions.insert(), list(rows))


def decisions_for_alert(conn: sa.Connection, alert_id: int) -> list[dict[str, Any]]:
    """List an alert's notification decisions, oldest first."""
    query = sa.select(notification_decisions).where(notification_decisions.c.alert_id == alert_id).order_by(notification_decisions.c.id)
    return [
        {
            "time": as_utc(row["time"]),
            "action": row["action"],
            "reason": row["reason"],
            "group_key": row["group_key"],
            "route": row["route"],
            "channels": list(row["channels"] or ()),
        }
        for row in conn.execute(query).mappings()
    ]


def enqueue(
    conn: sa.Connection,
    *,
    key_parts: Sequence[str],
    channels: Sequence[str],
    reason: str,
    payload: Mapping[str, Any],
    alert_id: int | None,
    time: datetime,
) -> int:
    """Write one outbox row per channel; return how many were new.

    The idempotency key is the sha256 hex of `key_parts`, the reason, the
    time and the channel, so a replayed cycle whose rows are stored writes
    none again.
    """
    written = 0
    for channel in channels:
        key = idempotency_key([*key_parts, reason, as_utc(time).isoformat(), channel])
        if insert_if_new(
            conn, alert_id=alert_id, channel=channel, reason=reason, payload=dict(payload), idempotency_key=key, now=time
        ):
            written += 1
    return written


def idempotency_key(parts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def utc_or_none(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None
