"""Stored read positions of followed log files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from inboxwatch.model.records import FilePosition
from inboxwatch.store.schema import file_positions


def load_position(conn: Connection, path: str) -> FilePosition | None:
    row = conn.execute(select(file_positions).where(file_positions.c.path == path)).mappings().first()
    if row is None:
        return None
    return FilePosition(row["path"], row["device"], row["inode"], row["offset"], row["head_digest"])


def save_position(conn: Connection, position: FilePosition, now: datetime) -> None:
    """Insert or update the position in the caller's transaction."""
    values = {
        "device": position.device,
        "inode": position.inode,
        "offset": position.offset,
        "head_digest": position.head_digest,
        "updated_at": now,
    }
    updated = conn.execute(
        file_positions.update().where(file_positions.c.path == position.path).values(**values)
    ).rowcount
    if not updated:
        conn.execute(file_positions.insert().values(path=position.path, **values))
