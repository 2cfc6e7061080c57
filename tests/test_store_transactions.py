"""Transaction helpers: savepoints inside a caller's transaction, durable commits, the SQLite write lock."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.store.durable import durable_transaction, run_pragma
from inboxwatch.store.savepoints import SavepointEngine
from inboxwatch.store.schema import ingests
from inboxwatch.store.write_lock import write_lock

# PRAGMA synchronous values: 1 is NORMAL, 2 is FULL.
SYNCHRONOUS_NORMAL = 1
SYNCHRONOUS_FULL = 2


def add_ingest(conn: sa.Connection, source: str) -> None:
    conn.execute(ingests.insert().values(source=source, kind="test", started_at=datetime(2026, 3, 1, tzinfo=timezone.utc)))


def stored_sources(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(ingests.c.source)).scalars())


def test_savepoint_writes_commit_with_caller(engine):
    with engine.begin() as conn:
        add_ingest(conn, "outer")
        nested = SavepointEngine(conn)
        with nested.begin() as inner:
            add_ingest(inner, "inner")
    assert stored_sources(engine) == ["inner", "outer"]


def test_savepoint_writes_roll_back_with_caller(engine):
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            add_ingest(conn, "outer")
            with SavepointEngine(conn).begin() as inner:
                add_ingest(inner, "inner")
            raise RuntimeError("the caller fails after the savepoint was released")
    assert stored_sources(engine) == []


def test_savepoint_failure_undoes_only_its_block(engine):
    with engine.begin() as conn:
        add_ingest(conn, "outer")
        nested = SavepointEngine(conn)
        with contextlib.suppress(RuntimeError):
            with nested.begin() as inner:
                add_ingest(inner, "failed")
                raise RuntimeError("the block fails")
        with nested.begin() as inner:
            add_ingest(inner, "retried")
    assert stored_sources(engine) == ["outer", "retried"]


def test_savepoint_engine_needs_transaction(engine):
    with engine.connect() as conn:
        with pytest.raises(ValueError, match="inside a transaction"):
            SavepointEngine(conn)


def test_savepoint_engine_needs_sqlite_write(tmp_path):
    engine = sa.create_engine("sqlite:///%s" % (tmp_path / "unwritten.db"))
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
        with pytest.raises(ValueError, match="has written"):
            SavepointEngine(conn)
    engine.dispose()


def test_durable_transaction_commits(engine):
    with durable_transaction(engine) as conn:
        add_ingest(conn, "durable")
    assert stored_sources(engine) == ["durable"]


def test_durable_transaction_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError):
        with durable_transaction(engine) as conn:
            add_ingest(conn, "lost")
            raise RuntimeError("the transaction fails")
    assert stored_sources(engine) == []


def test_durable_transaction_syncs_sqlite_commit(tmp_path):
    engine = sa.create_engine("sqlite:///%s" % (tmp_path / "sync.db"), poolclass=sa.pool.StaticPool)
    with engine.connect() as conn:
        run_pragma(conn, "PRAGMA synchronous=NORMAL")
    with durable_transaction(engine) as conn:
        assert run_pragma(conn, "PRAGMA synchronous") == SYNCHRONOUS_FULL
    with engine.connect() as conn:
        # StaticPool hands out the same connection, so this reads what the pool got back.
        assert run_pragma(conn, "PRAGMA synchronous") == SYNCHRONOUS_NORMAL
    engine.dispose()


def test_write_lock_shared_per_sqlite_engine(tmp_path):
    first = sa.create_engine("sqlite:///%s" % (tmp_path / "a.db"))
    second = sa.create_engine("sqlite:///%s" % (tmp_path / "b.db"))
    assert write_lock(first) is write_lock(first)
    assert write_lock(first) is not write_lock(second)


def test_write_lock_noop_for_postgresql():
    engine = sa.create_engine("postgresql+psycopg://user@127.0.0.1/none")
    assert isinstance(write_lock(engine), contextlib.nullcontext)
