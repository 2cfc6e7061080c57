"""The audit log: who changed what through the HTTP API, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import audit_log


def record_audit(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    target: str | None,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction, so it exists exactly when the change does."""
    conn.execute(
        audit_log.insert().values(time=as_utc(now), actor=actor, action=action, target=target, detail=detail)
    )


def list_audit(conn: sa.Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """List the newest entries first: time, actor, action, target, detail."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    return [
        {"time": as_utc(row.time), "actor": row.actor, "action": row.action, "target": row.target, "detail": row.detail}
        for row in conn.execute(query)
    ]
