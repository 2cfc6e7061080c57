import asyncio
import hashlib
import hmac
import json
import logging
from datetime import timedelta
from email.utils import format_datetime

import pytest

from inboxwatch.config.channels import WebhookChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.notify.signature import sign, verify
from inboxwatch.notify.webhook import WebhookChannel, parse_retry_after
from inboxwatch.store.db import open_engine

from notify_support import PAYLOAD, START, FakeClock, Receiver, free_port, insert_notification, outbox_row

SECRET = "webhook-secret-7f3a"


def make_notification(key: str = "key-1") -> Notification:
    return Notification(channel="hook", reason="firing", idempotency_key=key, payload=PAYLOAD, created_at=START)


def make_channel(url: str, secret: str | None = SECRET, timeout: float = 5.0) -> WebhookChannel:
    settings = WebhookChannelSettings(name="hook", url=url, timeout=timeout, headers={"X-Team": "deliverability"})
    return WebhookChannel(settings, secret, FakeClock())


def send(channel: WebhookChannel, notification: Notification | None = None) -> None:
    asyncio.run(channel.send(notification or make_notification()))


def send_error(channel: WebhookChannel) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        send(channel)
    return caught.value


def test_webhook_success_sends_signed_json():
    with Receiver() as receiver:
        send(make_channel(receiver.url))

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = request["headers"]
    assert request["path"] == "/hooks/inboxwatch?token=query-token"
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == "key-1"
    assert headers["X-Team"] == "deliverability"
    assert headers["X-Inboxwatch-Timestamp"] == str(int(START.timestamp()))

    # Checked the way a receiver in another language would, not with our helper.
    expected = hmac.new(
        SECRET.encode(), headers["X-Inboxwatch-Timestamp"].encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    assert headers["X-Inboxwatch-Signature"] == "sha256=" + expected

    document = json.loads(request["body"])
    assert document["idempotency_key"] == "key-1"
    assert document["reason"] == "firing"
    assert document["subject"] == "[FIRING critical] Microsoft bounce rate 12.5% over 10%"
    assert document["alert"] == PAYLOAD


def test_webhook_without_secret_sends_no_signature():
    with Receiver() as receiver:
        send(make_channel(receiver.url, secret=None))
    assert "X-Inboxwatch-Signature" not in receiver.requests[0]["headers"]


def test_webhook_body_same_on_every_attempt():
    with Receiver() as receiver:
        channel = make_channel(receiver.url)
        send(channel)
        send(channel)
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


@pytest.mark.parametrize(
    "status, retryable",
    [
        pytest.param(500, True, id="500-server-error"),
        pytest.param(502, True, id="502-bad-gateway"),
        pytest.param(503, True, id="503-unavailable"),
        pytest.param(429, True, id="429-rate-limited"),
        pytest.param(408, True, id="408-request-timeout"),
        pytest.param(400, False, id="400-bad-request"),
        pytest.param(401, False, id="401-unauthorized"),
        pytest.param(404, False, id="404-not-found"),
        pytest.param(301, False, id="301-redirect"),
    ],
)
def test_webhook_status_sets_retryable(status, retryable):
    with Receiver() as receiver:
        receiver.replies.append((status, {"Location": "http://127.0.0.1:1/elsewhere"}))
        error = send_error(make_channel(receiver.url))
    assert error.retryable is retryable
    assert "HTTP %d" % status in str(error)


def test_webhook_429_honours_retry_after_seconds():
    with Receiver() as receiver:
        receiver.replies.append((429, {"Retry-After": "120"}))
        error = send_error(make_channel(receiver.url))
    assert error.retryable
    assert error.retry_after == 120


def test_retry_after_http_date_becomes_seconds():
    later = format_datetime(START + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(later, START) == 300


def test_retry_after_unreadable_is_ignored():
    assert parse_retry_after("soon", START) is None
    assert parse_retry_after(None, START) is None


def test_webhook_connection_refused_retryable():
    channel = make_channel("http://127.0.0.1:%d/hook" % free_port())
    error = send_error(channel)
    assert error.retryable


def test_webhook_timeout_retryable():
    with Receiver() as receiver:
        receiver.stall_on_request = 1
        error = send_error(make_channel(receiver.url, timeout=0.3))
    assert error.retryable
    assert "timed out" in str(error)


def test_webhook_error_hides_url_path_and_query():
    with Receiver() as receiver:
        receiver.replies.append((400, {}))
        error = send_error(make_channel(receiver.url))
    assert "query-token" not in str(error)
    assert "/hooks/" not in str(error)


def test_signature_verify_rejects_altered():
    body = b'{"a":1}'
    timestamp = "1772442000"
    signature = sign(SECRET, timestamp, body)
    assert verify(SECRET, timestamp, body, signature, now=1772442010)
    assert not verify(SECRET, timestamp, b'{"a":2}', signature, now=1772442010)
    assert not verify("other-secret", timestamp, body, signature, now=1772442010)
    assert not verify(SECRET, timestamp, body, signature, now=1772442000 + 3600)
    assert not verify(SECRET, "not-a-number", body, signature, now=1772442010)


def test_webhook_logs_hold_no_secret(tmp_path, caplog):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    outbox_id = insert_notification(engine, "k-hook")
    with Receiver() as receiver:
        receiver.replies.extend([(500, {}), (400, {})])
        sender = OutboxSender(engine, {"hook": make_channel(receiver.url)}, FakeClock(), random=lambda: 0.0)
        with caplog.at_level(logging.DEBUG):
            asyncio.run(sender.drain_once(START))
            asyncio.run(sender.drain_once(START + timedelta(minutes=1)))

    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    for text in (caplog.text, row["last_error"]):
        assert SECRET not in text
        assert "query-token" not in text
    assert "outbox %d" % outbox_id in caplog.text
    assert "channel hook" in caplog.text
    engine.dispose()
