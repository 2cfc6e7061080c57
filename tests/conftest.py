"""Fixtures shared by the store tests: a fresh database on each backend.

Every test that takes `store_url` or `engine` runs twice: against a temporary
SQLite file, and against PostgreSQL when INBOXWATCH_TEST_POSTGRES_URL is set
(for example postgresql+psycopg://postgres@127.0.0.1:5432/test). Each
PostgreSQL test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from inboxwatch.store.db import normalize_url, open_engine

POSTGRES_URL_VARIABLE = "INBOXWATCH_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield "sqlite:///%s" % (tmp_path / "store.db")
        return

    base_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base_url:
        pytest.skip("PostgreSQL tests need %s, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test" % POSTGRES_URL_VARIABLE)
    schema = "inboxwatch_test_%s" % uuid.uuid4().hex[:12]
    admin = sa.create_engine(normalize_url(base_url), poolclass=sa.pool.NullPool)
    with admin.begin() as connection:
        connection.execute(sa.schema.CreateSchema(schema))
    separator = "&" if "?" in base_url else "?"
    # psycopg passes `options` to the server, so every connection of the
    # engine under test sees only this schema.
    yield base_url + separator + "options=" + quote("-csearch_path=%s" % schema)
    with admin.begin() as connection:
        connection.execute(sa.schema.DropSchema(schema, cascade=True))
    admin.dispose()


@pytest.fixture
def engine(store_url):
    engine = open_engine(store_url)
    yield engine
    engine.dispose()
