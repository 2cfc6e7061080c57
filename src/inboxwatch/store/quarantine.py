"""Quarantine: inputs that could not be read, kept with the reason for inspection."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import quarantine

# The longest raw excerpt kept per item. The reason explains what was wrong,
# so the excerpt only has to let someone find the input again.
MAX_RAW_CHARS = 4096

# The `location` column is String(255).
MAX_LOCATION_CHARS = 255


@dataclasses.dataclass(frozen=True)
class QuarantineItem:
    """One quarantined input or part of one: where it came from, why it was set aside and an excerpt."""

    source: str
    kind: str
    reason: str
    location: str | None = None
    raw: str | None = None
    received_at: datetime | None = None
    ingest_id: int | None = None
    id: int | None = None


def add_quarantine(conn: sa.Connection, items: Iterable[QuarantineItem], *, now: datetime) -> int:
    """Insert items in the caller's transaction, stamping those without `received_at` with `now`.

    An item already kept (same source, location, reason and raw text) is not
    kept again, so ingesting the same bad input twice quarantines it once.
    Returns the number of rows inserted.
    """
    items = list(items)
    rows = []
    seen = already_kept(conn, {item.source for item in items})
    for item in items:
        row = quarantine_row(item, now)
        identity = (row["source"], row["location"], row["reason"], row["raw"])
        if identity in seen:
            continue
        seen.add(identity)
        rows.append(row)
    if rows:
        conn.execute(quarantine.insert(), rows)
    return len(rows)


def already_kept(conn: sa.Connection, sources: set[str]) -> set[tuple]:
    """Return the identities (source, location, reason, raw) of the quarantine rows of `sources`."""
    if not sources:
        return set()
    query = sa.select(quarantine.c.source, quarantine.c.location, quarantine.c.reason, quarantine.c.raw).where(
        quarantine.c.source.in_([without_nul(source) for source in sources])
    )
    return {tuple(row) for row in conn.execute(query)}


def without_nul(text: str | None, limit: int | None = None) -> str | None:
    """Cut `text` to `limit` characters and replace NUL, which PostgreSQL text columns cannot contain."""
    if text is None:
        return None
    return text[:limit].replace("\x00", "\ufffd")


def quarantine_row(item: QuarantineItem, now: datetime) -> dict:
    return {
        "received_at": as_utc(item.received_at or now),
        "source": without_nul(item.source),
        "kind": item.kind,
        "location": without_nul(item.location, MAX_LOCATION_CHARS),
        "reason": without_nul(item.reason),
        "raw": without_nul(item.raw, MAX_RAW_CHARS),
        "ingest_id": item.ingest_id,
    }


def list_quarantine(
    conn: sa.Connection,
    *,
    since: datetime | None = None,
    source: str | None = None,
    limit: int = 100,
) -> list[QuarantineItem]:
    """Return quarantined items, newest first, optionally only those received at or after `since` or from `source`."""
    query = sa.select(quarantine).order_by(quarantine.c.received_at.desc(), quarantine.c.id.desc()).limit(limit)
    if since is not None:
        query = query.where(quarantine.c.received_at >= as_utc(since))
    if source is not None:
        query = query.where(quarantine.c.source == source)
    return [
        QuarantineItem(
            id=row.id,
            source=row.source,
            kind=row.kind,
            reason=row.reason,
            location=row.location,
            raw=row.raw,
            received_at=as_utc(row.received_at),
            ingest_id=row.ingest_id,
        )
        for row in conn.execute(query)
    ]
