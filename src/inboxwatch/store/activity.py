"""When the stored data was last active: the newest rollup minute."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import rollups


def latest_event_time(conn: sa.Connection, tenant: str | None = None) -> datetime | None:
    """Return the end of the newest rollup minute (so a window ending there includes it), or None for an empty store.

    Rollups are read rather than raw events, because retention may have
    deleted the events.
    """
    query = sa.select(sa.func.max(rollups.c.bucket))
    if tenant is not None:
        query = query.where(rollups.c.tenant == tenant)
    latest = conn.execute(query).scalar()
    if latest is None:
        return None
    return as_utc(latest) + timedelta(minutes=1)
