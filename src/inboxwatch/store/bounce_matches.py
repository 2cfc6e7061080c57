"""Finding the stored bounce that a bounce message reports a second time.

An MTA that logs a bounce also sends the sender a bounce message about it,
and an ESP reports it by webhook as well. Both reach inboxwatch, so a bounce
message is matched against bounced events already stored for the same
original Message-ID and recipient.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.model.events import EventType
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import events as events_table

# Message-IDs per query, well below SQLite's limit of 32766 bound parameters.
ID_CHUNK = 2000


def normalize_message_id(value: str | None) -> str | None:
    """Return a Message-ID without angle brackets or surrounding space, the form Postfix logs it in."""
    if not value:
        return None
    return value.strip().strip("<>").strip() or None


def find_stored_bounces(
    conn: sa.Connection, message_ids: Iterable[str], earliest: datetime, latest: datetime
) -> dict[tuple[str, str], tuple[int, str]]:
    """Return (id, event key) of bounced events for these Message-IDs, keyed by (Message-ID, recipient).

    Only events between `earliest` and `latest` are searched, because the
    events table is indexed by time alone. The key's recipient is the lower-cased
    address, or "@" plus the domain for events stored without the address
    (recipient retention "domain").
    """
    wanted = sorted({item for item in message_ids if item})
    found: dict[tuple[str, str], tuple[int, str]] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        # Sources differ in whether they keep the angle brackets.
        candidates = chunk + ["<%s>" % item for item in chunk]
        query = sa.select(
            events_table.c.id,
            events_table.c.event_key,
            events_table.c.message_id,
            events_table.c.recipient,
            events_table.c.recipient_domain,
        ).where(
            events_table.c.type == EventType.BOUNCED.value,
            events_table.c.time >= as_utc(earliest),
            events_table.c.time <= as_utc(latest),
            events_table.c.message_id.in_(candidates),
        )
        for row in conn.execute(query):
            message_id = normalize_message_id(row.message_id)
            if row.recipient:
                found.setdefault((message_id, row.recipient.lower()), (row.id, row.event_key))
            elif row.recipient_domain:
                found.setdefault((message_id, "@" + row.recipient_domain.lower()), (row.id, row.event_key))
    return found


def add_bounce_details(conn: sa.Connection, event_id: int, details: dict) -> None:
    """Store a bounce message's details under `bounce_message` in a stored event's `extra`.

    The event's type, `hard` flag and time stay as they are, so the rollups
    built from it stay right.
    """
    extra = conn.execute(sa.select(events_table.c.extra).where(events_table.c.id == event_id)).scalar_one_or_none()
    merged = dict(extra or {})
    merged["bounce_message"] = details
    conn.execute(events_table.update().where(events_table.c.id == event_id).values(extra=merged))
