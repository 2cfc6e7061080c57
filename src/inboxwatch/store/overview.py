"""Reads for monitoring views that no other store module provides.

Alert counts, the newest event, alert state changes after a given history
id (the feed behind the live alert stream) and alerts in a time range (the
alert export).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.model.alerts import Alert
from inboxwatch.store.alerts import alert_from_row
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import alert_history, alerts, events


def count_alerts(conn: sa.Connection) -> dict[tuple[str, str], int]:
    """Count alerts per (state, severity), resolved ones included."""
    query = sa.select(alerts.c.state, alerts.c.severity, sa.func.count()).group_by(alerts.c.state, alerts.c.severity)
    return {(state, severity): count for state, severity, count in conn.execute(query)}


def newest_event_time(conn: sa.Connection) -> datetime | None:
    """Return the time of the newest stored event, or None when there are none."""
    value = conn.execute(sa.select(sa.func.max(events.c.time))).scalar_one()
    return as_utc(value) if value is not None else None


def last_history_id(conn: sa.Connection) -> int:
    """Return the id of the newest `alert_history` row, or 0 when there is none."""
    return int(conn.execute(sa.select(sa.func.max(alert_history.c.id))).scalar_one() or 0)


def alert_changes(conn: sa.Connection, *, after_id: int = 0, limit: int = 100, newest_first: bool = False) -> list[dict[str, Any]]:
    """List `alert_history` rows with an id above `after_id`, each with its alert's rule, labels and severity.

    Ids only grow, so a reader that remembers the last id it saw gets each
    change once. Rows come oldest first, or newest first with `newest_first`.
    NOTE: on PostgreSQL two writers can commit their ids out of order, and a
    reader that already saw the higher id skips the lower one. On SQLite,
    writers are serialised, so this cannot happen.
    """
    query = (
        sa.select(
            alert_history.c.id,
            alert_history.c.alert_id,
            alert_history.c.time,
            alert_history.c.from_state,
            alert_history.c.to_state,
            alert_history.c.actor,
            alert_history.c.note,
            alerts.c.rule,
            alerts.c.tenant,
            alerts.c.labels,
            alerts.c.severity,
            alerts.c.state,
        )
        .select_from(alert_history.join(alerts, alert_history.c.alert_id == alerts.c.id))
        .where(alert_history.c.id > after_id)
        .order_by(alert_history.c.id.desc() if newest_first else alert_history.c.id)
        .limit(limit)
    )
    changes = []
    for row in conn.execute(query).mappings():
        change = dict(row)
        change["time"] = as_utc(row["time"])
        change["labels"] = dict(row["labels"] or {})
        changes.append(change)
    return changes


def iter_alerts(
    conn: sa.Connection, *, start: datetime, end: datetime, tenant: str | None = None, batch_size: int = 500
) -> Iterator[Alert]:
    """Yield the alerts that became pending in [start, end) in id order, reading `batch_size` rows per query.

    Paging by id keeps memory flat for any range and needs no server-side
    cursor, so it behaves the same on SQLite and PostgreSQL.
    """
    after_id = 0
    while True:
        query = (
            sa.select(alerts)
            .where(alerts.c.pending_since >= as_utc(start), alerts.c.pending_since < as_utc(end), alerts.c.id > after_id)
            .order_by(alerts.c.id)
            .limit(batch_size)
        )
        if tenant is not None:
            query = query.where(alerts.c.tenant == tenant)
        rows = conn.execute(query).mappings().all()
        for row in rows:
            yield alert_from_row(row)
        if len(rows) < batch_size:
            return
        after_id = rows[-1]["id"]
