from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
import sqlalchemy as sa

from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import metadata


def test_migrations_empty_database_matches_schema(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migrations_run_twice_changes_nothing(store_url):
    first = open_engine(store_url)
    first.dispose()
    second = open_engine(store_url)
    with second.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    second.dispose()
    assert len(versions) == 1


def test_migrations_disabled_creates_no_tables(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "bare.db"), migrate=False)
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == []
    engine.dispose()


def test_open_engine_sqlite_settings(tmp_path):
    engine = open_engine(str(tmp_path / "plain-path.db"))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    engine.dispose()
