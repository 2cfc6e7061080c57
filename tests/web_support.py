"""Helpers for the HTTP tests: an application on a fresh SQLite store, sample payloads and signers.

Every key and secret here is generated for the test run; the signers follow
each ESP's published scheme.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from inboxwatch.config.models import Config
from inboxwatch.store.db import open_engine
from inboxwatch.store.tokens import create_token
from inboxwatch.web.app import create_app

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
NOW_SECONDS = int(NOW.timestamp())

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:ses-events"


def fixed_clock() -> datetime:
    return NOW


def sendgrid_payload(event_id: str = "sg-1", email: str = "ann@gmail.com") -> bytes:
    event = {"email": email, "event": "delivered", "sg_event_id": event_id, "timestamp": NOW_SECONDS - 60, "ip": "203.0.113.5", "response": "250 OK"}
    return json.dumps([event]).encode()


class SendGridSigner:
    """Signs like SendGrid: ECDSA P-256, SHA-256, over the timestamp followed by the body."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        der = self.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key_b64 = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: int = NOW_SECONDS) -> dict[str, str]:
        signature = self.private_key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
        }


def mailgun_body(key: str, *, token: str | None = None, timestamp: int = NOW_SECONDS, event_id: str = "mg-1") -> bytes:
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), (str(timestamp) + token).encode(), hashlib.sha256).hexdigest()
    event = {"event": "delivered", "timestamp": NOW_SECONDS - 30.5, "id": event_id, "recipient": "bo@yahoo.com", "delivery-status": {"code": 250, "message": "OK"}}
    return json.dumps({"signature": {"timestamp": str(timestamp), "token": token, "signature": signature}, "event-data": event}).encode()


def resend_payload(email_id: str = "re-1") -> bytes:
    data = {"email_id": email_id, "to": ["cy@outlook.com"], "from": "news@example.com", "created_at": "2026-03-02T11:59:00.000Z"}
    return json.dumps({"type": "email.delivered", "created_at": "2026-03-02T11:59:00.000Z", "data": data}).encode()


def resend_headers(secret: str, body: bytes, *, message_id: str = "msg_1", timestamp: int = NOW_SECONDS) -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": "v1," + signature}


def new_resend_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def mandrill_body(event_id: str = "md-1") -> bytes:
    events = [{"event": "send", "ts": NOW_SECONDS - 60, "_id": event_id, "msg": {"email": "di@icloud.com", "_id": event_id, "sender": "news@example.com"}}]
    return urllib.parse.urlencode({"mandrill_events": json.dumps(events)}).encode()


def mandrill_signature(key: str, url: str, body: bytes) -> str:
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    text = url + "".join(name + fields[name] for name in sorted(fields))
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha1).digest()).decode()


def postmark_payload(message_id: str = "pm-1") -> bytes:
    return json.dumps({"RecordType": "Delivery", "Recipient": "ed@gmail.com", "DeliveredAt": "2026-03-02T11:59:00Z", "MessageID": message_id, "Details": "OK"}).encode()


def basic_auth(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()}


def make_config(webhooks: dict | None = None) -> Config:
    return Config.model_validate({"webhooks": webhooks or {}})


def make_client(tmp_path, webhooks: dict | None = None, **app_options) -> TestClient:
    """Return a TestClient on a new SQLite store; its engine is `client.engine`."""
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    client = TestClient(create_app(engine, make_config(webhooks), fixed_clock, **app_options))
    client.engine = engine
    return client


def bearer(client: TestClient, role: str, name: str | None = None) -> dict[str, str]:
    """Create a token with `role` in the client's store and return the Authorization header for it."""
    with client.engine.begin() as conn:
        _, token = create_token(conn, name=name or role, role=role, now=NOW - timedelta(days=1))
    return {"Authorization": "Bearer " + token}
