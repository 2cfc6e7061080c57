"""Finding the stored bounce that another input reports a second time.

An MTA that logs a bounce also sends the sender a bounce message about it,
and an ESP reports it by webhook as well. Both reach inboxwatch in either
order, so a bounce message is matched against bounced events already stored
for the same original Message-ID and recipient, and a logged bounce against
bounce-message events already stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.model.events import EventType
from inboxwatch.store.db import as_utc
from inboxwatch.store.rollups_hourly import add_hourly_rollups
from inboxwatch.store.rollups_quarter_hour import add_quarter_hour_rollups
from inboxwatch.store.rollups import ROLLUP_DIMENSIONS, ROLLUP_UPSERT, rollup_increments
from inboxwatch.store.schema import events as events_table

# The `source` of events made from bounce messages. The partial index
# `ix_events_bounce_message_id` in `schema` covers exactly these bounced events.
BOUNCE_MESSAGE_SOURCE = "bounce"

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


def recipient_key(recipient: str | None, recipient_domain: str | None) -> str | None:
    """Return the lower-cased address, or "@" plus the domain when only the domain is stored."""
    if recipient:
        return recipient.lower()
    if recipient_domain:
        return "@" + recipient_domain.lower()
    return None


# Compared with literals rather than bound parameters, so that SQLite's
# planner can prove the partial index's WHERE clause and use the index.
BOUNCE_MESSAGE_ROWS = sa.select(events_table).where(
    events_table.c.source == sa.literal_column("'%s'" % BOUNCE_MESSAGE_SOURCE),
    events_table.c.type == sa.literal_column("'%s'" % EventType.BOUNCED.value),
)


def find_bounce_message_events(
    conn: sa.Connection, message_ids: Iterable[str], earliest: datetime, latest: datetime
) -> dict[tuple[str, str], sa.Row]:
    """Return the stored bounced events made from bounce messages, keyed by (Message-ID, recipient).

    The recipient is the one `recipient_key` returns. The query reads the
    partial index on bounce-message events, so it costs little on a store
    of mostly logged events.
    """
    wanted = sorted({item for item in message_ids if item})
    found: dict[tuple[str, str], sa.Row] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        chunk = wanted[start : start + ID_CHUNK]
        query = BOUNCE_MESSAGE_ROWS.where(
            events_table.c.message_id.in_(chunk),
            events_table.c.time >= as_utc(earliest),
            events_table.c.time <= as_utc(latest),
        )
        for row in conn.execute(query):
            key = recipient_key(row.recipient, row.recipient_domain)
            if key is not None:
                found.setdefault((normalize_message_id(row.message_id), key), row)
    return found


def stored_event_keys(conn: sa.Connection, keys: list[str]) -> set[str]:
    """Return the subset of `keys` that stored events already have."""
    if not keys:
        return set()
    return set(conn.execute(sa.select(events_table.c.event_key).where(events_table.c.event_key.in_(keys))).scalars())


def delete_counted_events(conn: sa.Connection, rows: Iterable[sa.Row]) -> None:
    """Delete stored events and take them out of every rollup table, in the caller's transaction.

    `rows` are whole `events` rows, as `find_bounce_message_events` returns them.
    """
    rows = list(rows)
    if not rows:
        return
    facts = [(as_utc(row.time), row.type, row.hard) + tuple(row._mapping[name] for name in ROLLUP_DIMENSIONS) for row in rows]
    counters_start = 1 + len(ROLLUP_DIMENSIONS)
    # Negative counts: the upsert adds them to rows that exist, because
    # these events were counted when they were stored.
    decrements = [
        increment[:counters_start] + tuple(-count for count in increment[counters_start:])
        for increment in rollup_increments(facts)
    ]
    # The same tables in the same order as `store.events` adds to them.
    ROLLUP_UPSERT.execute(conn, decrements)
    add_quarter_hour_rollups(conn, decrements)
    add_hourly_rollups(conn, decrements)
    conn.execute(events_table.delete().where(events_table.c.id.in_([row.id for row in rows])))


def add_bounce_details(conn: sa.Connection, event_id: int, details: dict) -> None:
    """Store a bounce message's details under `bounce_message` in a stored event's `extra`.

    The event's type, `hard` flag and time stay as they are, so the rollups
    built from it stay right.
    """
    extra = conn.execute(sa.select(events_table.c.extra).where(events_table.c.id == event_id)).scalar_one_or_none()
    merged = dict(extra or {})
    merged["bounce_message"] = details
    conn.execute(events_table.update().where(events_table.c.id == event_id).values(extra=merged))
