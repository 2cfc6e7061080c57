"""The INSERT construct of each supported backend, for ON CONFLICT clauses.

SQLite (3.24 and later) and PostgreSQL spell upserts the same way, but
SQLAlchemy offers `on_conflict_do_nothing` and `on_conflict_do_update` only
on each dialect's own `insert`, so the construct is chosen by dialect name.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from inboxwatch.errors import StoreError


def insert_for_dialect(dialect: Dialect, table: sa.Table):
    """Return the dialect's INSERT construct for `table`, which offers ON CONFLICT."""
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    raise StoreError("unsupported database %r: inboxwatch supports sqlite and postgresql" % dialect.name)


def dialect_insert(conn: sa.Connection, table: sa.Table):
    """Return the INSERT construct of the connection's backend, which offers ON CONFLICT."""
    return insert_for_dialect(conn.dialect, table)
