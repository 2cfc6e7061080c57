"""Transactions that are on disk when their commit returns, for writes that cannot be repeated from their source.

SQLite connections run with synchronous=NORMAL (see `db.configure_sqlite_connection`):
in WAL mode a commit then survives a crash of the process, but not a power
loss or an operating system crash, because the WAL is synced only at
checkpoints. That is fine for a log file, which can be ingested again, but
not for a webhook: once the ESP has its 2xx it never sends the payload
again. With synchronous=FULL the WAL is synced at each commit, which also
makes every earlier commit durable (SQLite documentation, "PRAGMA
synchronous"). PostgreSQL syncs every commit by default (synchronous_commit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa


@contextlib.contextmanager
def durable_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Begin a transaction on a pooled connection and commit it with a disk sync (SQLite: synchronous=FULL)."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                yield conn
            return
        default = run_pragma(conn, "PRAGMA synchronous")
        run_pragma(conn, "PRAGMA synchronous=FULL")
        try:
            with conn.begin():
                yield conn
        finally:
            # The connection goes back to the pool, where other writers expect the default.
            if not conn.invalidated:
                run_pragma(conn, "PRAGMA synchronous=%d" % default)


def run_pragma(conn: sa.Connection, pragma: str) -> int | None:
    """Run a PRAGMA on the driver's cursor, so that SQLAlchemy begins no transaction for it; return its value."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        row = cursor.execute(pragma).fetchone()
    finally:
        cursor.close()
    return row[0] if row else None
