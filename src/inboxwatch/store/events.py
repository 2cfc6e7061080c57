"""Storing delivery events and their per-minute rollups, idempotently.

Each event is keyed by sha256(source + NUL + event_id), so the same input
stored twice is stored once. Rollup counters are raised in the same
transaction, and only for events that were actually inserted, so rollups
always agree with the raw events they were built from.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from inboxwatch.classify.providers import provider_for
from inboxwatch.errors import StoreError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store.db import as_utc
from inboxwatch.store.quarantine import QuarantineItem, add_quarantine, without_nul
from inboxwatch.store.schema import events as events_table
from inboxwatch.store.schema import rollups

log = logging.getLogger(__name__)

RECIPIENT_RETENTION = ("full", "domain", "none")

# The rollup columns that group counts; the unique key is these plus `bucket`.
ROLLUP_DIMENSIONS = ("tenant", "provider", "sending_ip", "sending_domain", "campaign")

# One rollup counter per event type, named like the type, plus hard_bounced.
COUNTER_COLUMNS = tuple(event_type.value for event_type in EventType) + ("hard_bounced",)

# SQLite allows 32766 bound parameters per statement (since 3.32), so key
# look-ups go in chunks well below that.
KEY_CHUNK = 5000

@dataclasses.dataclass
class StoreCounts:
    """Counts from one `store_events` call: events inserted, duplicates skipped, events quarantined."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0

    def add(self, other: "StoreCounts") -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected


def event_key(event: DeliveryEvent) -> str:
    """Return the idempotency key: sha256 hex of the source kind and the parser's event id."""
    return hashlib.sha256((event.source + "\0" + event.event_id).encode("utf-8")).hexdigest()


def minute_bucket(time: datetime) -> datetime:
    """Return the start of the UTC minute containing `time`."""
    return as_utc(time).replace(second=0, microsecond=0)


def store_events(
    conn: sa.Connection,
    events: Iterable[DeliveryEvent],
    *,
    ingest_id: int | None,
    tenant_default: str = "default",
    recipient_retention: str = "full",
    now: datetime | None = None,
) -> StoreCounts:
    """Insert a batch of events and raise their rollups, in the caller's transaction.

    Events already stored, or repeated within the batch, are skipped and
    counted as duplicates. Events without a time cannot be placed in a
    rollup minute, so they are quarantined (received at `now`, default
    the current time) and counted
    as rejected. `recipient_retention` decides what is kept of the
    recipient: "full" the address, "domain" only its domain, "none" neither.
    """
    if recipient_retention not in RECIPIENT_RETENTION:
        raise ValueError(
            "invalid recipient_retention %r: expected one of %s" % (recipient_retention, ", ".join(RECIPIENT_RETENTION))
        )
    counts = StoreCounts()
    rows_by_key: dict[str, dict] = {}
    undated: list[DeliveryEvent] = []
    providers: dict[tuple[str | None, str | None], str] = {}

    for event in events:
        if event.time is None:
            undated.append(event)
            continue
        key = event_key(event)
        if key in rows_by_key:
            counts.duplicates += 1
            continue
        rows_by_key[key] = event_row(event, key, ingest_id, tenant_default, recipient_retention, providers)

    inserted = insert_new_events(conn, list(rows_by_key.values()))
    counts.stored = len(inserted)
    counts.duplicates += len(rows_by_key) - len(inserted)
    add_rollups(conn, [rows_by_key[key] for key in inserted])
    counts.rejected = quarantine_undated(conn, undated, ingest_id, now or datetime.now(timezone.utc))
    return counts


def event_row(
    event: DeliveryEvent,
    key: str,
    ingest_id: int | None,
    tenant_default: str,
    recipient_retention: str,
    providers: dict[tuple[str | None, str | None], str],
) -> dict:
    domain = event.recipient_domain
    provider = event.provider
    if provider is None:
        # The relay host is the MX that took the message, which identifies
        # Google Workspace and Microsoft 365 custom domains without DNS.
        cache_key = (domain, event.relay_host)
        provider = providers.get(cache_key)
        if provider is None:
            provider = provider_for(domain, (event.relay_host,) if event.relay_host else ())
            providers[cache_key] = provider
    return {
        "event_key": key,
        "time": as_utc(event.time),
        "type": event.type.value,
        "source": event.source,
        "tenant": event.tenant or tenant_default,
        "provider": provider,
        "recipient": event.recipient if recipient_retention == "full" else None,
        "recipient_domain": domain if recipient_retention != "none" else None,
        "sender": event.sender,
        "sending_ip": event.sending_ip or "",
        "sending_domain": event.sending_domain or "",
        "campaign": event.campaign or "",
        "message_id": event.message_id,
        "queue_id": event.queue_id,
        "relay_host": event.relay_host,
        "smtp_code": event.smtp_code,
        "enhanced_status": event.enhanced_status,
        "diagnostic": without_nul(event.diagnostic),
        "bounce_reason": event.bounce_reason,
        "hard": event.hard,
        "ingest_id": ingest_id,
        "extra": event.extra or None,
    }


def dialect_insert(conn: sa.Connection, table: sa.Table):
    """Return the dialect's INSERT construct, which offers ON CONFLICT."""
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise StoreError("unsupported database %r: inboxwatch supports sqlite and postgresql" % name)


def existing_keys(conn: sa.Connection, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        query = sa.select(events_table.c.event_key).where(events_table.c.event_key.in_(keys[start : start + KEY_CHUNK]))
        found.update(conn.execute(query).scalars())
    return found


def insert_new_events(conn: sa.Connection, rows: list[dict]) -> list[str]:
    """Insert rows whose key is not stored yet and return the keys inserted.

    Stored keys are looked up first, because a re-ingest is common and a
    look-up costs less than an insert that conflicts. ON CONFLICT DO NOTHING
    then covers a concurrent writer that stores the same event in between,
    and RETURNING gives exactly the keys this statement inserted, which are
    the ones whose rollups must be raised.
    """
    if not rows:
        return []
    known = existing_keys(conn, [row["event_key"] for row in rows])
    new_rows = [row for row in rows if row["event_key"] not in known]
    if not new_rows:
        return []
    statement = (
        dialect_insert(conn, events_table)
        .on_conflict_do_nothing(index_elements=[events_table.c.event_key])
        .returning(events_table.c.event_key)
    )
    return list(conn.execute(statement, new_rows).scalars())


def rollup_increments(rows: Iterable[dict]) -> list[dict]:
    """Sum inserted event rows into one counter row per minute and dimensions."""
    totals: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in rows:
        group = (minute_bucket(row["time"]),) + tuple(row[name] for name in ROLLUP_DIMENSIONS)
        counter = totals[group]
        counter[row["type"]] += 1
        if row["type"] == EventType.BOUNCED.value and row["hard"]:
            counter["hard_bounced"] += 1
    increments = []
    for group, counter in totals.items():
        increment = dict(zip(("bucket",) + ROLLUP_DIMENSIONS, group))
        for column in COUNTER_COLUMNS:
            increment[column] = counter.get(column, 0)
        increments.append(increment)
    return increments


def add_rollups(conn: sa.Connection, rows: Iterable[dict]) -> None:
    """Add the rows' counts to the rollups with one upsert per distinct group."""
    increments = rollup_increments(rows)
    if not increments:
        return
    statement = dialect_insert(conn, rollups)
    statement = statement.on_conflict_do_update(
        index_elements=[rollups.c.bucket] + [rollups.c[name] for name in ROLLUP_DIMENSIONS],
        set_={column: rollups.c[column] + statement.excluded[column] for column in COUNTER_COLUMNS},
    )
    conn.execute(statement, increments)


def quarantine_undated(conn: sa.Connection, undated: list[DeliveryEvent], ingest_id: int | None, now: datetime) -> int:
    if not undated:
        return 0
    log.info("quarantining %d events without a time", len(undated))
    items = [
        QuarantineItem(
            source=event.source,
            kind=event.source,
            location="event %s" % event.event_id,
            reason="event has no time: it cannot be placed in a rollup minute; the parser found no timestamp",
            raw=json.dumps(event.to_json(), default=str),
            ingest_id=ingest_id,
        )
        for event in undated
    ]
    return add_quarantine(conn, items, now=now)
