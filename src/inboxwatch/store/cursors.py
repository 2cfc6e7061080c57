"""Named timestamps the service keeps in `cursors`, such as the last evaluated minute."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import cursors


def get_cursor(conn: sa.Connection, name: str) -> datetime | None:
    """Return the time stored under `name`, or None when it was never set."""
    value = conn.execute(sa.select(cursors.c.time).where(cursors.c.name == name)).scalar_one_or_none()
    return as_utc(value) if value is not None else None


def set_cursor(conn: sa.Connection, name: str, time: datetime) -> None:
    """Store `time` under `name`, replacing any earlier value."""
    # Update first and insert when nothing was there; the same on every backend.
    updated = conn.execute(cursors.update().where(cursors.c.name == name).values(time=as_utc(time)))
    if updated.rowcount == 0:
        conn.execute(cursors.insert().values(name=name, time=as_utc(time)))
