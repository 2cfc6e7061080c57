"""`POST /webhooks/{esp}`: events stored before the 2xx, retries, rejections, quarantine and counters."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inboxwatch.errors import ConfigError
from inboxwatch.service import webhook_intake
from inboxwatch.store.schema import events, ingests, quarantine, rollups, webhook_receipts

from web_support import (
    SendGridSigner,
    basic_auth,
    mailgun_body,
    mandrill_body,
    mandrill_signature,
    make_client,
    new_resend_secret,
    postmark_payload,
    resend_headers,
    resend_payload,
    sendgrid_payload,
)

MAILGUN_KEY = "mailgun-test-key"
MANDRILL_KEY = "mandrill-test-key"
MANDRILL_URL = "https://hooks.example.com/webhooks/mandrill"


@pytest.fixture(scope="module")
def signer():
    return SendGridSigner()


@pytest.fixture(scope="module")
def resend_secret():
    return new_resend_secret()


@pytest.fixture
def client(tmp_path, signer, resend_secret):
    return make_client(
        tmp_path,
        {
            "sendgrid": {"secret": signer.public_key_b64, "tenant": "shop"},
            "mailgun": {"secret_env": "TEST_MAILGUN_KEY"},
            "mandrill": {"secret": MANDRILL_KEY, "url": MANDRILL_URL},
            "resend": {"secret": resend_secret},
            "postmark": {"username": "hook", "password": "pm-pass"},
        },
        environ={"TEST_MAILGUN_KEY": MAILGUN_KEY},
    )


def count_rows(client, table) -> int:
    with client.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def post_sendgrid(client, signer, body: bytes):
    return client.post("/webhooks/sendgrid", content=body, headers={**signer.headers(body), "Content-Type": "application/json"})


def test_webhook_sendgrid_stores_events(client, signer):
    response = post_sendgrid(client, signer, sendgrid_payload())
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0, "rejected": 0}
    with client.engine.connect() as conn:
        row = conn.execute(sa.select(events.c.tenant, events.c.provider, events.c.type)).one()
    assert tuple(row) == ("shop", "gmail", "delivered")


def test_webhook_retry_stores_nothing_twice(client, signer):
    body = sendgrid_payload()
    post_sendgrid(client, signer, body)
    response = post_sendgrid(client, signer, body)
    assert response.status_code == 200
    assert response.json()["duplicates"] == 1
    assert count_rows(client, events) == 1


def test_webhook_keeps_raw_payload(client, signer):
    body = sendgrid_payload()
    post_sendgrid(client, signer, body)
    with client.engine.connect() as conn:
        receipt = conn.execute(sa.select(webhook_receipts)).one()
    assert receipt.esp == "sendgrid"
    assert receipt.body == body.decode()
    assert receipt.ingest_id is not None


def fail_once(original):
    """Wrap a store function so that its first call raises as a failing disk would, and later calls run it."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE webhook_receipts", {}, Exception("disk I/O error"))
        return original(*args, **kwargs)

    return wrapper


def test_webhook_failure_mid_request_stores_nothing(client, signer, monkeypatch):
    # link_ingest runs after the events and rollups were written in the same transaction.
    monkeypatch.setattr(webhook_intake, "link_ingest", fail_once(webhook_intake.link_ingest))
    body = sendgrid_payload()
    response = post_sendgrid(client, signer, body)
    assert response.status_code == 503
    for table in (webhook_receipts, ingests, events, rollups):
        assert count_rows(client, table) == 0, table.name

    retry = post_sendgrid(client, signer, body)
    assert retry.status_code == 200
    assert retry.json() == {"stored": 1, "duplicates": 0, "rejected": 0}
    assert count_rows(client, webhook_receipts) == 1
    assert count_rows(client, events) == 1


def test_webhook_failed_request_keeps_nonce_unused(client, monkeypatch):
    monkeypatch.setattr(webhook_intake, "link_ingest", fail_once(webhook_intake.link_ingest))
    body = mailgun_body(MAILGUN_KEY, token="d" * 50)
    assert client.post("/webhooks/mailgun", content=body).status_code == 503
    retry = client.post("/webhooks/mailgun", content=body)
    assert retry.status_code == 200
    assert retry.json()["stored"] == 1


def test_webhook_bad_signature_rejected_and_counted(client, signer):
    body = sendgrid_payload()
    headers = signer.headers(body)
    response = client.post("/webhooks/sendgrid", content=body.replace(b"ann@", b"bob@"), headers=headers)
    assert response.status_code == 403
    assert count_rows(client, events) == 0
    assert count_rows(client, webhook_receipts) == 0
    metrics = client.get("/metrics").text
    assert 'inboxwatch_webhook_requests_total{esp="sendgrid",outcome="unauthorized"} 1.0' in metrics


def test_webhook_unsigned_request_gets_401(client):
    response = client.post("/webhooks/sendgrid", content=sendgrid_payload())
    assert response.status_code == 401


def test_webhook_malformed_payload_quarantined(client, signer):
    body = b'[{"email": "ann@gmail.com", "event": '
    response = post_sendgrid(client, signer, body)
    assert response.status_code == 400
    assert "invalid JSON" in response.json()["detail"]
    with client.engine.connect() as conn:
        row = conn.execute(sa.select(quarantine.c.source, quarantine.c.raw)).one()
    assert row.source == "webhook:sendgrid"
    assert row.raw == body.decode()
    assert 'outcome="malformed"} 1.0' in client.get("/metrics").text


def test_webhook_unknown_event_type_quarantined(client, signer):
    body = b'[{"email": "ann@gmail.com", "event": "teleported", "sg_event_id": "x", "timestamp": 1}]'
    response = post_sendgrid(client, signer, body)
    assert response.status_code == 400
    assert "teleported" in response.json()["detail"]
    assert count_rows(client, quarantine) == 1


def test_webhook_unconfigured_esp_is_404(client):
    response = client.post("/webhooks/sparkpost", content=b"[]")
    assert response.status_code == 404
    assert "[webhooks.sparkpost]" in response.json()["detail"]


def test_webhook_mailgun_stores_events(client):
    response = client.post("/webhooks/mailgun", content=mailgun_body(MAILGUN_KEY))
    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_webhook_mailgun_replayed_token_rejected(client):
    body = mailgun_body(MAILGUN_KEY, token="c" * 50)
    assert client.post("/webhooks/mailgun", content=body).status_code == 200
    response = client.post("/webhooks/mailgun", content=body)
    assert response.status_code == 403
    assert "replay" in response.json()["detail"]
    assert 'esp="mailgun",outcome="replayed"} 1.0' in client.get("/metrics").text


def test_webhook_mandrill_stores_events(client):
    body = mandrill_body()
    headers = {"X-Mandrill-Signature": mandrill_signature(MANDRILL_KEY, MANDRILL_URL, body), "Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/webhooks/mandrill", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_webhook_mandrill_head_check(client):
    assert client.head("/webhooks/mandrill").status_code == 200
    assert client.head("/webhooks/sparkpost").status_code == 404


def test_webhook_resend_stores_events(client, resend_secret):
    body = resend_payload()
    response = client.post("/webhooks/resend", content=body, headers=resend_headers(resend_secret, body))
    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_webhook_resend_retry_with_same_id_accepted(client, resend_secret):
    body = resend_payload()
    headers = resend_headers(resend_secret, body)
    client.post("/webhooks/resend", content=body, headers=headers)
    response = client.post("/webhooks/resend", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"stored": 0, "duplicates": 1, "rejected": 0}


def test_webhook_postmark_basic_auth(client):
    response = client.post("/webhooks/postmark", content=postmark_payload(), headers=basic_auth("hook", "pm-pass"))
    assert response.status_code == 200
    assert response.json()["stored"] == 1
    wrong = client.post("/webhooks/postmark", content=postmark_payload(), headers=basic_auth("hook", "guess"))
    assert wrong.status_code == 403


def test_webhook_missing_secret_variable_stops_startup(tmp_path):
    with pytest.raises(ConfigError, match="TEST_UNSET_KEY"):
        make_client(tmp_path, {"mailgun": {"secret_env": "TEST_UNSET_KEY"}}, environ={})


def test_webhook_unknown_esp_lists_known(client):
    response = client.post("/webhooks/nosuch", content=b"[]")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "[webhooks.nosuch]" not in detail
    assert "not a known ESP" in detail
    assert "sendgrid" in detail


@pytest.mark.parametrize("body", [b"{not json", b"{}"], ids=["broken-json", "no-signature"])
def test_webhook_mailgun_unverifiable_body_is_401(client, body):
    response = client.post("/webhooks/mailgun", content=body)
    assert response.status_code == 401
    assert count_rows(client, quarantine) == 0


def test_webhook_mailgun_broken_json_says_so(client):
    response = client.post("/webhooks/mailgun", content=b"{not json")
    assert "not valid JSON" in response.json()["detail"]
    assert "cannot be verified" in response.json()["detail"]
