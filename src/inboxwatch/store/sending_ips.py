"""The sending IPs seen in the delivery events, for checking them on blocklists."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import rollups


def recent_sending_ips(conn: sa.Connection, tenant: str, since: datetime) -> list[str]:
    """Return the distinct sending IPs of `tenant`'s events at or after `since`, sorted.

    The per-minute rollups are read instead of the events: they have one
    row per minute and IP rather than per message, an index on tenant and
    time, and the same sending IPs. Events without a known IP are skipped.
    """
    table = rollups.c
    query = (
        sa.select(table.sending_ip)
        .where(table.tenant == tenant, table.bucket >= as_utc(since), table.sending_ip != "")
        .distinct()
        .order_by(table.sending_ip)
    )
    return list(conn.execute(query).scalars())
