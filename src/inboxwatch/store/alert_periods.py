"""Alerts that overlap a period, for reports."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from inboxwatch.model.alerts import Alert
from inboxwatch.store.alerts import alert_from_row
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import alerts as alerts_table


def alerts_in_period(conn: sa.Connection, tenant: str, start: datetime, end: datetime, limit: int) -> list[Alert]:
    """List, newest first, the alerts that started in [start, end) and those still firing during it.

    An alert that started before `start` counts when it fired before `end`
    and was not resolved before `start`. At most `limit` alerts are returned.
    """
    start, end = as_utc(start), as_utc(end)
    columns = alerts_table.c
    started_in_period = sa.and_(columns.pending_since >= start, columns.pending_since < end)
    firing_from_before = sa.and_(
        columns.pending_since < start,
        columns.fired_at.is_not(None),
        columns.fired_at < end,
        sa.or_(columns.resolved_at.is_(None), columns.resolved_at >= start),
    )
    query = (
        sa.select(alerts_table)
        .where(columns.tenant == tenant, sa.or_(started_in_period, firing_from_before))
        .order_by(columns.pending_since.desc(), columns.id.desc())
        .limit(limit)
    )
    return [alert_from_row(row) for row in conn.execute(query).mappings()]
