"""Health and readiness endpoints."""

from __future__ import annotations

from fastapi.testclient import TestClient

from inboxwatch.store.db import migrate_schema, open_engine
from inboxwatch.store.health import head_revisions
from inboxwatch.web.app import create_app

from web_support import fixed_clock, make_client, make_config


def test_healthz_ok(tmp_path):
    assert make_client(tmp_path).get("/healthz").json() == {"status": "ok"}


def test_readyz_at_head(tmp_path):
    response = make_client(tmp_path).get("/readyz")
    assert response.status_code == 200
    assert response.json()["current"] == response.json()["head"]


def test_readyz_schema_behind_is_503(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "old.db"), migrate=False)
    migrate_schema(engine, "0001_initial")
    response = TestClient(create_app(engine, make_config(), fixed_clock)).get("/readyz")
    assert response.status_code == 503
    assert response.json()["current"] == ["0001_initial"]


def test_readyz_store_unreachable_is_503(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "missing" / "store.db"), migrate=False)
    response = TestClient(create_app(engine, make_config(), fixed_clock)).get("/readyz")
    assert response.status_code == 503
    assert "unreachable" in response.json()["detail"]


def test_migrations_single_head():
    assert len(head_revisions()) == 1


def test_readyz_empty_database_is_503(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "empty.db"), migrate=False)
    response = TestClient(create_app(engine, make_config(), fixed_clock)).get("/readyz")
    assert response.status_code == 503
    assert response.json()["current"] == []
