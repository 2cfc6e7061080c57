"""Prometheus /metrics: series read from the store at scrape time."""

from __future__ import annotations

import json
from datetime import timedelta

from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.store.alerts import save_alert

from web_support import NOW, NOW_SECONDS, SendGridSigner, make_client, sendgrid_payload


def test_metrics_series_after_ingest(tmp_path):
    signer = SendGridSigner()
    client = make_client(tmp_path, {"sendgrid": {"secret": signer.public_key_b64}})
    body = sendgrid_payload()
    client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body))
    with client.engine.begin() as conn:
        save_alert(
            conn,
            Alert(
                id=None, fingerprint="a" * 64, rule="bounce", tenant="default", labels={}, severity=Severity.WARNING,
                state=AlertState.FIRING, pending_since=NOW - timedelta(minutes=5), last_evaluated_at=NOW,
            ),
        )

    text = client.get("/metrics").text
    expected = [
        'inboxwatch_store_up 1.0',
        'inboxwatch_events_total{provider="gmail",type="delivered"} 1.0',
        'inboxwatch_rate{provider="gmail",rate="delivery_rate"} 1.0',
        'inboxwatch_rate_denominator{provider="gmail",rate="complaint_rate"} 1.0',
        'inboxwatch_alerts{severity="warning",state="firing"} 1.0',
        'inboxwatch_outbox{status="pending"} 0.0',
        'inboxwatch_notifications_failed 0.0',
        # The event happened 60 s before the fixed clock's time.
        'inboxwatch_ingest_lag_seconds 60.0',
        'inboxwatch_webhook_requests_total{esp="sendgrid",outcome="accepted"} 1.0',
    ]
    for line in expected:
        assert line in text


def test_metrics_empty_store_has_no_lag(tmp_path):
    text = make_client(tmp_path).get("/metrics").text
    assert "inboxwatch_store_up 1.0" in text
    assert "inboxwatch_ingest_lag_seconds" not in text


def test_metrics_lag_not_negative_for_future_event(tmp_path):
    signer = SendGridSigner()
    client = make_client(tmp_path, {"sendgrid": {"secret": signer.public_key_b64}})
    event = {"email": "ann@gmail.com", "event": "delivered", "sg_event_id": "sg-future", "timestamp": NOW_SECONDS + 120, "response": "250 OK"}
    body = json.dumps([event]).encode()
    assert client.post("/webhooks/sendgrid", content=body, headers=signer.headers(body)).json()["stored"] == 1

    text = client.get("/metrics").text
    assert "inboxwatch_ingest_lag_seconds 0.0" in text
