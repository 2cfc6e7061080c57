"""Alembic environment: runs migrations on the connection `open_engine` passes in.

`inboxwatch.store.db.migrate_schema` puts an open connection in
`config.attributes["connection"]`. Without one (the `alembic` command run by a
developer), the URL comes from `sqlalchemy.url` in the configuration or the
INBOXWATCH_STORE environment variable.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from inboxwatch.store.schema import metadata

config = context.config


def run_on(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("INBOXWATCH_STORE")
    if not url:
        raise SystemExit("no database to migrate: set sqlalchemy.url or INBOXWATCH_STORE")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        run_on(connection)


run_migrations()
