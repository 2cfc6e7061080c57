"""Running code written for an engine inside a caller's transaction, one savepoint per `begin()`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa


class SavepointEngine:
    """An engine stand-in bound to a connection that is inside a transaction.

    Each `begin()` opens a SAVEPOINT on that connection and yields the
    connection, so a function that writes in several `engine.begin()` blocks
    (such as `service.ingest.ingest_records`) commits nothing by itself: its
    writes become part of the caller's transaction. A block that raises is
    rolled back to its savepoint, as a failed transaction would be.

    On SQLite the caller's transaction must have written before this object
    is made, or the constructor raises ValueError. The pysqlite driver sends
    BEGIN only before a data-changing statement, so a SAVEPOINT sent first
    would start the transaction itself, and releasing it would commit.
    """

    def __init__(self, conn: sa.Connection) -> None:
        if not conn.in_transaction():
            raise ValueError("SavepointEngine needs a connection inside a transaction")
        if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
            raise ValueError("SavepointEngine on SQLite needs a transaction that has written: write before creating it")
        self.conn = conn

    @property
    def dialect(self) -> sa.Dialect:
        return self.conn.dialect

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        with self.conn.begin_nested():
            yield self.conn
