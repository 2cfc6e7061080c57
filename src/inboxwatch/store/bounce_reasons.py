"""Bounce counts per provider and reason over a window, read from the stored events.

Rollups keep no reasons, so this reads `events`. Events removed by
retention are not counted, so the counts can cover less than the window.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import events


def bounce_reason_counts(conn: sa.Connection, start: datetime, end: datetime, tenant: str | None = None) -> dict[str, dict[str, int]]:
    """Count bounced events in [start, end) per provider and bounce reason; a missing reason counts as "unknown"."""
    table = events.c
    query = (
        sa.select(table.provider, table.bounce_reason, sa.func.count())
        .where(table.type == "bounced", table.time >= as_utc(start), table.time < as_utc(end))
        .group_by(table.provider, table.bounce_reason)
    )
    if tenant is not None:
        query = query.where(table.tenant == tenant)
    counts: dict[str, dict[str, int]] = {}
    for provider, reason, count in conn.execute(query):
        per_reason = counts.setdefault(provider, {})
        key = reason or "unknown"
        per_reason[key] = per_reason.get(key, 0) + int(count)
    return counts
