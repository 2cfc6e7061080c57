"""Opening the database: engine settings per backend and schema migration.

SQLite is the embedded default (one file, no server). PostgreSQL, reached
through psycopg 3, is the backend for several processes on several machines.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from inboxwatch.errors import StoreError

log = logging.getLogger(__name__)

DEFAULT_STORE_URL = "sqlite:///inboxwatch.db"

# The SQLAlchemy backends the store runs on. Others (MySQL, MariaDB) lack the
# INSERT ... ON CONFLICT upserts that the rollups and ingest rely on.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")

MIGRATIONS_PATH = Path(__file__).parent / "migrations"

# How long an SQLite connection waits for another writer's lock before
# failing with "database is locked". Ingest transactions hold the lock for
# one batch, well under this.
SQLITE_BUSY_TIMEOUT_MS = 10_000

SQLITE_CACHE_KIB = 64 * 1024

# Key of the PostgreSQL advisory lock taken while migrating, so processes
# starting together run the migrations once. Any fixed 64-bit number works.
MIGRATION_LOCK_KEY = 0x1B0C5_3A7C


def open_engine(url: str, *, migrate: bool = True) -> sa.Engine:
    """Create an engine for `url` and, unless `migrate` is false, upgrade the schema.

    `url` is an SQLAlchemy URL (`sqlite:///path.db`,
    `postgresql+psycopg://user@host/db`); a plain file path means an SQLite
    file, and `postgresql://` without a driver means psycopg 3. Raises
    `StoreError` when the URL is invalid or the database cannot be reached
    or migrated.
    """
    parsed = normalize_url(url)
    try:
        engine = sa.create_engine(parsed)
    except (ArgumentError, ImportError) as exc:
        raise StoreError("cannot open store %s: %s" % (parsed.render_as_string(hide_password=True), exc)) from exc

    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", configure_sqlite_connection)
    if migrate:
        migrate_schema(engine)
    return engine


def normalize_url(url: str) -> URL:
    """Parse a store URL, reading a bare path as an SQLite file and choosing psycopg for PostgreSQL."""
    if "://" not in url:
        return URL.create("sqlite", database=url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            "invalid store URL %r: %s; expected sqlite:///FILE or postgresql+psycopg://USER@HOST/DB" % (url, exc)
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise StoreError(
            "unsupported store URL scheme %r in %s: inboxwatch supports sqlite (sqlite:///FILE) and postgresql "
            "(postgresql://USER@HOST/DB)" % (parsed.drivername, parsed.render_as_string(hide_password=True))
        )
    return parsed


def configure_sqlite_connection(dbapi_connection, _connection_record) -> None:
    """Set per-connection SQLite options.

    WAL lets readers (the status command, the web server) run while an
    ingest writes. Foreign keys are off by default in SQLite.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=%d" % SQLITE_BUSY_TIMEOUT_MS)
        cursor.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable in WAL mode except for the last transactions
        # before a power loss, which a re-run of the idempotent ingest restores.
        # A webhook cannot be re-run once acknowledged, so webhook transactions
        # commit with FULL instead (store.durable).
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A page cache of up to 64 MiB (negative means KiB) keeps the event
        # key index in memory while large batches insert random keys.
        cursor.execute("PRAGMA cache_size=-%d" % SQLITE_CACHE_KIB)
    finally:
        cursor.close()


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Build the Alembic configuration in code, so no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.attributes["connection"] = connection
    return config


def migrate_schema(engine: sa.Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` (the newest by default), in one transaction."""
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            command.upgrade(alembic_config(connection), revision)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise StoreError("cannot migrate store %s: %s" % (where, exc)) from exc
    log.debug("store %s migrated to %s", engine.url.render_as_string(hide_password=True), revision)


def as_utc(value: datetime) -> datetime:
    """Convert a datetime to aware UTC, reading a naive one as UTC.

    SQLite keeps `DateTime(timezone=True)` columns as text without an offset
    and returns naive values, and it stores an aware value's wall-clock time
    as written. So every time is converted to UTC before it is written and
    passed through here after it is read.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
