"""Storing delivery events and their per-minute rollups, idempotently.

Each event is keyed by sha256(source + NUL + event_id), so the same input
stored twice is stored once. Rollup counters are raised in the same
transaction, and only for events that were actually inserted, so rollups
always agree with the raw events they were built from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import operator
from collections.abc import Iterable
from datetime import datetime, timezone

import sqlalchemy as sa

from inboxwatch.classify.enrich import EnrichOptions, enriched_labels
from inboxwatch.classify.providers import provider_for_delivery
from inboxwatch.errors import StoreError
from inboxwatch.model.events import DeliveryEvent
from inboxwatch.store.bulk import BulkInsert
from inboxwatch.store.db import as_utc
from inboxwatch.store.quarantine import QuarantineItem, add_quarantine, without_nul
from inboxwatch.store.rollups import ROLLUP_DIMENSIONS, add_rollups
from inboxwatch.store.rollups_hourly import add_hourly_rollups
from inboxwatch.store.rollups_quarter_hour import add_quarter_hour_rollups
from inboxwatch.store.schema import events as events_table
from inboxwatch.store.upsert import dialect_insert

__all__ = ["ConcurrentInsertError", "EventRows", "StoreCounts", "dialect_insert", "event_key", "minute_bucket", "store_events", "store_rows"]

log = logging.getLogger(__name__)

RECIPIENT_RETENTION = ("full", "domain", "none")

# SQLite allows 32766 bound parameters per statement (since 3.32), so key
# look-ups go in chunks well below that.
KEY_CHUNK = 5000

# The inserted columns, in the order of the tuples that `event_row` builds.
EVENT_COLUMNS = (
    "event_key", "time", "type", "source", "tenant", "provider", "recipient", "recipient_domain", "sender",
    "sending_ip", "sending_domain", "campaign", "message_id", "queue_id", "relay_host", "smtp_code",
    "enhanced_status", "diagnostic", "bounce_reason", "hard", "ingest_id", "extra",
)

# Picks the rollup facts (see `rollups.RollupFacts`) out of an event row.
ROLLUP_FACTS = operator.itemgetter(*(EVENT_COLUMNS.index(name) for name in ("time", "type", "hard") + ROLLUP_DIMENSIONS))

EVENT_INSERT = BulkInsert(lambda dialect: events_table.insert(), EVENT_COLUMNS)


class ConcurrentInsertError(StoreError):
    """Another writer stored some of a batch's events after the key look-up.

    The transaction can no longer be used. Roll it back, then store the
    batch again with `skip_conflicts=True`, which skips what the other
    writer stored.
    """


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


class EventRows:
    """A batch of events turned into insert rows, keyed and deduplicated, before it meets the store.

    Building rows needs no connection, so a parser process can build them
    and hand the rows to the process that writes. Events without a time
    are kept aside for quarantine; events repeated within the batch are
    counted as duplicates.
    """

    def __init__(
        self,
        *,
        ingest_id: int | None,
        tenant_default: str = "default",
        recipient_retention: str = "full",
        enrich_options: EnrichOptions | None = None,
    ) -> None:
        if recipient_retention not in RECIPIENT_RETENTION:
            raise ValueError(
                "invalid recipient_retention %r: expected one of %s"
                % (recipient_retention, ", ".join(RECIPIENT_RETENTION))
            )
        self.ingest_id = ingest_id
        self.tenant_default = tenant_default
        self.recipient_retention = recipient_retention
        self.enrich_options = enrich_options
        self.rows_by_key: dict[str, tuple] = {}
        self.undated: list[DeliveryEvent] = []
        self.duplicates = 0

    def __len__(self) -> int:
        return len(self.rows_by_key) + len(self.undated) + self.duplicates

    def __getstate__(self) -> dict:
        # Sent between processes for its rows only: the receiver merges them
        # into its own EventRows, whose settings built them.
        return {"rows_by_key": self.rows_by_key, "undated": self.undated, "duplicates": self.duplicates}

    def __setstate__(self, state: dict) -> None:
        self.__init__(ingest_id=None)
        self.__dict__.update(state)

    def add(self, event: DeliveryEvent) -> None:
        if event.time is None:
            self.undated.append(event)
            return
        key = event_key(event)
        if key in self.rows_by_key:
            self.duplicates += 1
            return
        self.rows_by_key[key] = event_row(
            event, key, self.ingest_id, self.tenant_default, self.recipient_retention, self.enrich_options
        )

    def take(self) -> tuple[dict[str, tuple], list[DeliveryEvent], int]:
        """Return (rows by key, undated events, duplicates) and start an empty batch."""
        taken = self.rows_by_key, self.undated, self.duplicates
        self.rows_by_key, self.undated, self.duplicates = {}, [], 0
        return taken

    def merge(self, rows_by_key: dict[str, tuple], undated: list[DeliveryEvent], duplicates: int) -> None:
        """Add what another `EventRows` with the same settings took."""
        for key, row in rows_by_key.items():
            if key in self.rows_by_key:
                self.duplicates += 1
            else:
                self.rows_by_key[key] = row
        self.undated.extend(undated)
        self.duplicates += duplicates


def store_events(
    conn: sa.Connection,
    events: Iterable[DeliveryEvent],
    *,
    ingest_id: int | None,
    tenant_default: str = "default",
    recipient_retention: str = "full",
    now: datetime | None = None,
    skip_conflicts: bool = False,
    enrich_options: EnrichOptions | None = None,
) -> StoreCounts:
    """Insert a batch of events and raise their rollups, in the caller's transaction.

    Events already stored, or repeated within the batch, are skipped and
    counted as duplicates. Events without a time cannot be placed in a
    rollup minute, so they are quarantined (received at `now`, default
    the current time) and counted
    as rejected. `recipient_retention` decides what is kept of the
    recipient: "full" the address, "domain" only its domain, "none" neither.

    Raises ConcurrentInsertError when another writer stored one of the
    events between the key look-up and the insert. With `skip_conflicts`
    it skips those events instead, but inserts more slowly (see
    `insert_new_events`). With `enrich_options`, the stored labels are
    those `classify.enrich.enrich` would give the event.
    """
    rows = EventRows(
        ingest_id=ingest_id,
        tenant_default=tenant_default,
        recipient_retention=recipient_retention,
        enrich_options=enrich_options,
    )
    for event in events:
        rows.add(event)
    return store_rows(conn, rows, now=now, skip_conflicts=skip_conflicts)


def store_rows(conn: sa.Connection, rows: EventRows, *, now: datetime | None = None, skip_conflicts: bool = False) -> StoreCounts:
    """Store what an `EventRows` holds, in the caller's transaction, as `store_events` does."""
    counts = StoreCounts(duplicates=rows.duplicates)
    inserted = insert_new_events(conn, rows.rows_by_key, skip_conflicts=skip_conflicts)
    counts.stored = len(inserted)
    counts.duplicates += len(rows.rows_by_key) - len(inserted)
    minute_increments = add_rollups(conn, map(ROLLUP_FACTS, inserted))
    add_quarter_hour_rollups(conn, minute_increments)
    add_hourly_rollups(conn, minute_increments)
    counts.rejected = quarantine_undated(conn, rows.undated, rows.ingest_id, now or datetime.now(timezone.utc))
    return counts


def event_row(
    event: DeliveryEvent,
    key: str,
    ingest_id: int | None,
    tenant_default: str,
    recipient_retention: str,
    enrich_options: EnrichOptions | None = None,
) -> tuple:
    """Return the event's column values in EVENT_COLUMNS order."""
    domain = event.recipient_domain
    if enrich_options is not None:
        provider, sending_domain, sending_ip, tenant = enriched_labels(event, enrich_options)
    else:
        # Without enrichment, the relay host is the MX that took the
        # message, which identifies Google Workspace and Microsoft 365
        # custom domains without DNS.
        provider = event.provider or provider_for_delivery(domain, event.relay_host)
        sending_domain, sending_ip, tenant = event.sending_domain, event.sending_ip, event.tenant
    return (
        key,
        as_utc(event.time),
        event.type.value,
        event.source,
        tenant or tenant_default,
        provider,
        event.recipient if recipient_retention == "full" else None,
        domain if recipient_retention != "none" else None,
        event.sender,
        sending_ip or "",
        sending_domain or "",
        event.campaign or "",
        event.message_id,
        event.queue_id,
        event.relay_host,
        event.smtp_code,
        event.enhanced_status,
        without_nul(event.diagnostic),
        event.bounce_reason,
        event.hard,
        ingest_id,
        event.extra or None,
    )


# One statement with an expanding parameter, built once: `in_(list)` would
# coerce every key into its own bound parameter on every call.
EXISTING_KEYS_QUERY = sa.select(events_table.c.event_key).where(
    events_table.c.event_key.in_(sa.bindparam("keys", expanding=True))
)


def existing_keys(conn: sa.Connection, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        found.update(conn.execute(EXISTING_KEYS_QUERY, {"keys": keys[start : start + KEY_CHUNK]}).scalars())
    return found


def insert_new_events(conn: sa.Connection, rows_by_key: dict[str, tuple], *, skip_conflicts: bool) -> list[tuple]:
    """Insert the rows whose key is not stored yet and return the rows inserted.

    Stored keys are looked up first, because a re-ingest is common and a
    look-up costs less than an insert that conflicts. The rest go in one
    plain executemany, the fast path. A writer that stores one of the same
    keys after the look-up makes it fail on the unique key, which raises
    ConcurrentInsertError. With `skip_conflicts`, the rows go through
    INSERT ... ON CONFLICT DO NOTHING RETURNING instead, which returns
    exactly the keys this statement inserted but builds every row's
    parameters in SQLAlchemy, several times slower.
    """
    if not rows_by_key:
        return []
    known = existing_keys(conn, list(rows_by_key))
    new_rows = [row for key, row in rows_by_key.items() if key not in known]
    if not new_rows:
        return []
    if skip_conflicts:
        return insert_skipping_conflicts(conn, new_rows, rows_by_key)
    try:
        EVENT_INSERT.execute(conn, new_rows)
    except sa.exc.IntegrityError as exc:
        raise ConcurrentInsertError(
            "inserting %d events failed on a constraint, most likely because another writer stored some of them "
            "after the key look-up: %s" % (len(new_rows), exc.orig)
        ) from exc
    return new_rows


def insert_skipping_conflicts(conn: sa.Connection, new_rows: list[tuple], rows_by_key: dict[str, tuple]) -> list[tuple]:
    statement = (
        dialect_insert(conn, events_table)
        .on_conflict_do_nothing(index_elements=[events_table.c.event_key])
        .returning(events_table.c.event_key)
    )
    inserted = conn.execute(statement, [dict(zip(EVENT_COLUMNS, row)) for row in new_rows]).scalars()
    return [rows_by_key[key] for key in inserted]


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
