"""`/api/v1/silences`: listing, creating and expiring silences, the roles they need and their audit entries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inboxwatch.store.audit import list_audit
from inboxwatch.store.silences import add_silence, list_silences

from web_support import NOW, bearer, make_client

MATCHERS = ['provider="gmail"', 'sending_ip="192.0.2.10"']


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path)


def store_silence(client, starts_at, ends_at, matchers=MATCHERS) -> int:
    with client.engine.begin() as conn:
        return add_silence(
            conn, matchers=matchers, starts_at=starts_at, ends_at=ends_at, created_by="ana", comment="maintenance", now=NOW
        )


def audit_entries(client) -> list[dict]:
    with client.engine.connect() as conn:
        return list_audit(conn)


def test_silences_create_with_duration(client):
    body = {"matchers": MATCHERS, "comment": "IP warm-up", "duration": "2h"}
    response = client.post("/api/v1/silences", json=body, headers=bearer(client, "operator", "oncall"))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["matchers"] == MATCHERS
    assert created["starts_at"] == NOW.isoformat()
    assert created["ends_at"] == (NOW + timedelta(hours=2)).isoformat()
    assert created["created_by"] == "token:oncall"
    assert created["status"] == "active"
    with client.engine.connect() as conn:
        stored = list_silences(conn)
    assert [silence["id"] for silence in stored] == [created["id"]]


def test_silences_create_defaults_to_one_hour(client):
    response = client.post("/api/v1/silences", json={"matchers": MATCHERS, "comment": "c"}, headers=bearer(client, "operator"))

    assert response.json()["ends_at"] == (NOW + timedelta(hours=1)).isoformat()


def test_silences_create_pending_with_naive_times(client):
    body = {"matchers": MATCHERS, "comment": "c", "starts_at": "2026-03-02T13:00:00", "ends_at": "2026-03-02T14:00:00Z"}
    response = client.post("/api/v1/silences", json=body, headers=bearer(client, "operator"))

    assert response.status_code == 201, response.text
    assert response.json()["starts_at"] == "2026-03-02T13:00:00+00:00"
    assert response.json()["status"] == "pending"


def test_silences_create_is_audited(client):
    body = {"matchers": MATCHERS, "comment": "IP warm-up", "duration": "2h"}
    created = client.post("/api/v1/silences", json=body, headers=bearer(client, "operator", "oncall")).json()

    entry = audit_entries(client)[0]
    assert (entry["actor"], entry["action"], entry["target"]) == ("token:oncall", "silence.create", "silence:%d" % created["id"])
    assert entry["detail"]["matchers"] == MATCHERS
    assert entry["detail"]["ends_at"] == created["ends_at"]
    assert entry["detail"]["comment"] == "IP warm-up"


@pytest.mark.parametrize(
    "body, message",
    [
        pytest.param({"matchers": ["provider"], "comment": "c"}, "invalid matcher", id="bad-matcher"),
        pytest.param({"matchers": ['rule=~"("'], "comment": "c"}, "invalid matcher", id="bad-regex"),
        pytest.param(
            {"matchers": MATCHERS, "comment": "c", "ends_at": "2026-03-02T14:00:00Z", "duration": "1h"},
            "give one of them",
            id="end-twice",
        ),
        pytest.param({"matchers": MATCHERS, "comment": "c", "ends_at": "2026-03-02T11:00:00Z"}, "not after its start", id="ends-first"),
        pytest.param(
            {"matchers": MATCHERS, "comment": "c", "starts_at": "2026-03-02T10:00:00Z", "ends_at": "2026-03-02T11:00:00Z"},
            "already passed",
            id="in-the-past",
        ),
    ],
)
def test_silences_create_invalid_is_400(client, body, message):
    response = client.post("/api/v1/silences", json=body, headers=bearer(client, "operator"))

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert audit_entries(client) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"matchers": [], "comment": "c"}, id="no-matchers"),
        pytest.param({"matchers": MATCHERS, "comment": ""}, id="no-comment"),
        pytest.param({"matchers": MATCHERS, "comment": "c", "duration": "soon"}, id="bad-duration"),
    ],
)
def test_silences_create_malformed_is_422(client, body):
    response = client.post("/api/v1/silences", json=body, headers=bearer(client, "operator"))

    assert response.status_code == 422


def test_silences_viewer_cannot_create(client):
    response = client.post("/api/v1/silences", json={"matchers": MATCHERS, "comment": "c"}, headers=bearer(client, "viewer"))

    assert response.status_code == 403
    assert "operator" in response.json()["detail"]
    assert audit_entries(client) == []


def test_silences_list_hides_expired_by_default(client):
    active = store_silence(client, NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    pending = store_silence(client, NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    expired = store_silence(client, NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    headers = bearer(client, "viewer")

    current = client.get("/api/v1/silences", headers=headers).json()["silences"]
    everything = client.get("/api/v1/silences?all=true", headers=headers).json()["silences"]

    assert [(silence["id"], silence["status"]) for silence in current] == [(active, "active"), (pending, "pending")]
    assert [(silence["id"], silence["status"]) for silence in everything] == [
        (active, "active"),
        (pending, "pending"),
        (expired, "expired"),
    ]


def test_silences_list_needs_token(client):
    assert client.get("/api/v1/silences").status_code == 401


def test_silences_expire_ends_now_and_is_audited(client):
    silence_id = store_silence(client, NOW - timedelta(hours=1), NOW + timedelta(hours=1))

    response = client.delete("/api/v1/silences/%d" % silence_id, headers=bearer(client, "operator", "oncall"))

    assert response.status_code == 200, response.text
    assert response.json()["ends_at"] == NOW.isoformat()
    assert response.json()["status"] == "expired"
    entry = audit_entries(client)[0]
    assert (entry["actor"], entry["action"], entry["target"]) == ("token:oncall", "silence.expire", "silence:%d" % silence_id)
    assert client.get("/api/v1/silences", headers=bearer(client, "viewer")).json()["silences"] == []


def test_silences_expire_already_expired_keeps_end(client):
    ended = NOW - timedelta(hours=1)
    silence_id = store_silence(client, NOW - timedelta(hours=2), ended)

    response = client.delete("/api/v1/silences/%d" % silence_id, headers=bearer(client, "operator"))

    assert response.status_code == 200
    assert response.json()["ends_at"] == ended.isoformat()


def test_silences_expire_unknown_is_404(client):
    response = client.delete("/api/v1/silences/999", headers=bearer(client, "operator"))

    assert response.status_code == 404
    assert audit_entries(client) == []


def test_silences_viewer_cannot_expire(client):
    silence_id = store_silence(client, NOW - timedelta(hours=1), NOW + timedelta(hours=1))

    response = client.delete("/api/v1/silences/%d" % silence_id, headers=bearer(client, "viewer"))

    assert response.status_code == 403
    with client.engine.connect() as conn:
        assert list_silences(conn)[0]["ends_at"] == NOW + timedelta(hours=1)
