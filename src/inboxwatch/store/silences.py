"""Silence queries: add, list and expire silences. Matchers are stored as their text form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.errors import InboxwatchError
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import silences as silences_table


class SilenceNotFoundError(InboxwatchError):
    """No silence has the requested id."""


def add_silence(
    conn: sa.Connection,
    *,
    matchers: Sequence[str],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> int:
    """Store a silence and return its id. The caller has checked the matchers and that it ends after it starts."""
    result = conn.execute(
        silences_table.insert().values(
            matchers=list(matchers),
            starts_at=as_utc(starts_at),
            ends_at=as_utc(ends_at),
            created_by=created_by,
            comment=comment,
            created_at=as_utc(now),
        )
    )
    return result.inserted_primary_key[0]


def list_silences(conn: sa.Connection, *, ending_after: datetime | None = None) -> list[dict[str, Any]]:
    """List silences, oldest first; with `ending_after`, only those that end later (active and pending ones)."""
    query = sa.select(silences_table).order_by(silences_table.c.id)
    if ending_after is not None:
        query = query.where(silences_table.c.ends_at > as_utc(ending_after))
    return [silence_row(row) for row in conn.execute(query).mappings()]


def expire_silence(conn: sa.Connection, silence_id: int, now: datetime) -> dict[str, Any]:
    """End a silence at `now`; a silence that has already ended is left as it is. Raise SilenceNotFoundError."""
    row = conn.execute(sa.select(silences_table).where(silences_table.c.id == silence_id)).mappings().first()
    if row is None:
        raise SilenceNotFoundError("silence %d not found; `inboxwatch silences list --all` shows the known ids" % silence_id)
    silence = silence_row(row)
    if silence["ends_at"] <= now:
        return silence
    # A silence that has not started yet ends before it begins.
    conn.execute(silences_table.update().where(silences_table.c.id == silence_id).values(ends_at=as_utc(now)))
    return {**silence, "ends_at": as_utc(now)}


def silence_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "matchers": list(row["matchers"]),
        "starts_at": as_utc(row["starts_at"]),
        "ends_at": as_utc(row["ends_at"]),
        "created_by": row["created_by"],
        "comment": row["comment"],
        "created_at": as_utc(row["created_at"]),
    }
