"""The REST API under /api/v1: token roles, metrics, alerts, quarantine, uploads, tokens and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.store.alerts import save_alert
from inboxwatch.store.audit import list_audit
from inboxwatch.store.schema import events

from web_support import NOW, SendGridSigner, bearer, make_client, sendgrid_payload


@pytest.fixture(scope="module")
def signer():
    return SendGridSigner()


@pytest.fixture
def client(tmp_path, signer):
    return make_client(tmp_path, {"sendgrid": {"secret": signer.public_key_b64}})


def add_firing_alert(client) -> int:
    alert = Alert(
        id=None,
        fingerprint="f" * 64,
        rule="gmail_bounce_rate",
        tenant="default",
        labels={"provider": "gmail"},
        severity=Severity.CRITICAL,
        state=AlertState.FIRING,
        pending_since=NOW - timedelta(minutes=10),
        last_evaluated_at=NOW,
        fired_at=NOW - timedelta(minutes=5),
        value=0.08,
        threshold=0.05,
        denominator=400,
        summary="gmail bounce rate 8% over 400 sent",
    )
    with client.engine.begin() as conn:
        return save_alert(conn, alert).id


def ingest_sendgrid(client, signer, body: bytes) -> None:
    response = client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
    assert response.status_code == 200, response.text


def test_api_without_token_is_401(client):
    response = client.get("/api/v1/alerts")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_api_unknown_token_is_401(client):
    response = client.get("/api/v1/alerts", headers={"Authorization": "Bearer iwk_not-a-token"})
    assert response.status_code == 401


def test_api_viewer_lists_alerts(client):
    alert_id = add_firing_alert(client)
    response = client.get("/api/v1/alerts", headers=bearer(client, "viewer"))
    assert response.status_code == 200
    assert [alert["id"] for alert in response.json()["alerts"]] == [alert_id]
    assert response.json()["alerts"][0]["denominator"] == 400


def test_api_viewer_cannot_ack(client):
    alert_id = add_firing_alert(client)
    response = client.post("/api/v1/alerts/%d/ack" % alert_id, headers=bearer(client, "viewer"))
    assert response.status_code == 403
    assert "operator" in response.json()["detail"]


def test_api_operator_acks_and_is_audited(client):
    alert_id = add_firing_alert(client)
    response = client.post("/api/v1/alerts/%d/ack" % alert_id, json={"note": "looking"}, headers=bearer(client, "operator", "oncall"))
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_by"] == "token:oncall"
    with client.engine.connect() as conn:
        entry = list_audit(conn)[0]
    assert (entry["actor"], entry["action"], entry["target"]) == ("token:oncall", "alert.acknowledge", "alert:%d" % alert_id)
    assert entry["detail"] == {"note": "looking"}


def test_api_ack_twice_is_409(client):
    alert_id = add_firing_alert(client)
    headers = bearer(client, "operator")
    client.post("/api/v1/alerts/%d/ack" % alert_id, headers=headers)
    response = client.post("/api/v1/alerts/%d/ack" % alert_id, headers=headers)
    assert response.status_code == 409


def test_api_resolve_and_history(client):
    alert_id = add_firing_alert(client)
    headers = bearer(client, "operator")
    assert client.post("/api/v1/alerts/%d/resolve" % alert_id, headers=headers).json()["state"] == "resolved"
    history = client.get("/api/v1/alerts/%d/history" % alert_id, headers=headers).json()["history"]
    assert [(entry["from_state"], entry["to_state"]) for entry in history] == [("firing", "resolved")]


def test_api_unknown_alert_is_404(client):
    headers = bearer(client, "operator")
    assert client.get("/api/v1/alerts/999", headers=headers).status_code == 404
    assert client.post("/api/v1/alerts/999/ack", headers=headers).status_code == 404


def test_api_alert_state_filter_invalid(client):
    response = client.get("/api/v1/alerts?state=burning", headers=bearer(client, "viewer"))
    assert response.status_code == 400


def test_api_metrics_by_provider(client, signer):
    ingest_sendgrid(client, signer, sendgrid_payload("sg-1", "ann@gmail.com"))
    ingest_sendgrid(client, signer, sendgrid_payload("sg-2", "bob@yahoo.com"))
    response = client.get("/api/v1/metrics?group_by=provider", headers=bearer(client, "viewer"))
    assert response.status_code == 200
    rows = {row["key"]["provider"]: row for row in response.json()["rows"]}
    assert set(rows) == {"gmail", "yahoo"}
    assert rows["gmail"]["counts"]["delivered"] == 1
    assert rows["gmail"]["rates"]["delivery_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1}


def test_api_metrics_group_by_ip_and_domain(client, signer):
    ingest_sendgrid(client, signer, sendgrid_payload())
    response = client.get("/api/v1/metrics?group_by=ip,domain", headers=bearer(client, "viewer"))
    assert response.json()["group_by"] == ["sending_ip", "sending_domain"]
    assert response.json()["rows"][0]["key"]["sending_ip"] == "203.0.113.5"


def test_api_metrics_time_range_excludes_events(client, signer):
    ingest_sendgrid(client, signer, sendgrid_payload())
    response = client.get("/api/v1/metrics?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z", headers=bearer(client, "viewer"))
    assert response.json()["rows"] == []


def test_api_metrics_invalid_dimension_is_400(client):
    response = client.get("/api/v1/metrics?group_by=planet", headers=bearer(client, "viewer"))
    assert response.status_code == 400
    assert "planet" in response.json()["detail"]


def test_api_metrics_invalid_time_is_400(client):
    response = client.get("/api/v1/metrics?from=yesterday", headers=bearer(client, "viewer"))
    assert response.status_code == 400


def test_api_series_fills_steps(client, signer):
    ingest_sendgrid(client, signer, sendgrid_payload())
    response = client.get("/api/v1/metrics/series?step=30m&from=2026-03-02T11:00:00Z&to=2026-03-02T12:00:00Z", headers=bearer(client, "viewer"))
    assert response.status_code == 200
    points = response.json()["points"]
    assert [point["time"] for point in points] == ["2026-03-02T11:00:00+00:00", "2026-03-02T11:30:00+00:00"]
    assert [point["counts"]["delivered"] for point in points] == [0, 1]


def test_api_series_too_many_steps_is_400(client):
    response = client.get("/api/v1/metrics/series?step=1m&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", headers=bearer(client, "viewer"))
    assert response.status_code == 400


def test_api_quarantine_lists_webhook_rejects(client, signer):
    body = b"[{"
    client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
    response = client.get("/api/v1/quarantine?source=webhook:sendgrid", headers=bearer(client, "viewer"))
    items = response.json()["items"]
    assert len(items) == 1
    assert "invalid JSON" in items[0]["reason"]


def test_api_ingest_upload(client):
    files = {"file": ("events.json", sendgrid_payload("up-1"), "application/json")}
    response = client.post("/api/v1/ingest", files=files, data={"kind": "sendgrid"}, headers=bearer(client, "operator", "importer"))
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    assert response.json()["source"] == "upload:events.json"
    with client.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 1
        assert list_audit(conn)[0]["action"] == "ingest"


def test_api_ingest_detects_format(client):
    files = {"file": ("events.json", sendgrid_payload("up-2"), "application/json")}
    response = client.post("/api/v1/ingest", files=files, headers=bearer(client, "operator"))
    assert response.json()["kind"] == "sendgrid"


def test_api_ingest_unknown_kind_is_400(client):
    files = {"file": ("events.json", b"[]", "application/json")}
    response = client.post("/api/v1/ingest", files=files, data={"kind": "carrier-pigeon"}, headers=bearer(client, "operator"))
    assert response.status_code == 400
    assert "carrier-pigeon" in response.json()["detail"]


def test_api_ingest_needs_operator(client):
    files = {"file": ("events.json", b"[]", "application/json")}
    assert client.post("/api/v1/ingest", files=files, headers=bearer(client, "viewer")).status_code == 403


def test_api_tokens_admin_creates_and_revokes(client):
    admin = bearer(client, "admin", "root")
    created = client.post("/api/v1/tokens", json={"name": "grafana", "role": "viewer"}, headers=admin)
    assert created.status_code == 201
    token = created.json()["token"]
    assert client.get("/api/v1/alerts", headers={"Authorization": "Bearer " + token}).status_code == 200
    assert client.delete("/api/v1/tokens/%d" % created.json()["id"], headers=admin).status_code == 200
    assert client.get("/api/v1/alerts", headers={"Authorization": "Bearer " + token}).status_code == 401
    with client.engine.connect() as conn:
        actions = [entry["action"] for entry in list_audit(conn)]
    assert actions[:2] == ["token.revoke", "token.create"]


def test_api_tokens_operator_cannot_manage(client):
    response = client.post("/api/v1/tokens", json={"name": "x", "role": "admin"}, headers=bearer(client, "operator"))
    assert response.status_code == 403


def test_api_token_list_hides_token_text(client):
    admin = bearer(client, "admin")
    listed = client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    assert listed[0]["role"] == "admin"
    assert "token" not in listed[0]


def test_api_openapi_document_lists_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/metrics", "/api/v1/alerts/{alert_id}/ack", "/api/v1/ingest", "/webhooks/{esp}", "/readyz"):
        assert path in paths


def test_api_ingest_invalid_tenant_is_422(client):
    files = {"file": ("events.json", b"[]", "application/json")}
    response = client.post("/api/v1/ingest", files=files, data={"tenant": "Not A Tenant!"}, headers=bearer(client, "operator"))
    assert response.status_code == 422


def test_api_openapi_declares_bearer_scheme(client):
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {"type": "http", "scheme": "bearer", "description": schemes["HTTPBearer"]["description"]}
    assert {"HTTPBearer": []} in document["paths"]["/api/v1/metrics"]["get"]["security"]


def test_api_openapi_lists_error_responses(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"400", "401", "403"} <= set(paths["/api/v1/metrics"]["get"]["responses"])
    assert {"401", "403", "404", "409"} <= set(paths["/api/v1/alerts/{alert_id}/ack"]["post"]["responses"])
    assert {"400", "401", "403", "404"} <= set(paths["/api/v1/silences"]["post"]["responses"]) | set(paths["/api/v1/silences/{silence_id}"]["delete"]["responses"])


def test_api_openapi_documents_duration_form(client):
    document = client.get("/openapi.json").json()
    duration = document["components"]["schemas"]["NewSilence"]["properties"]["duration"]
    assert "pattern" in str(duration)
    assert "PT" not in str(duration)


def test_api_docs_pages_are_off(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
