import asyncio
import base64
import logging
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from inboxwatch.config.channels import TwilioChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.notify.twilio import MAX_BODY, TwilioChannel
from inboxwatch.store.db import open_engine

from notify_support import PAYLOAD, START, FakeClock, Receiver, insert_notification, outbox_row

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-5e1d"

# Twilio replies 201 Created with the message resource.
CREATED = (201, {})


def make_notification(payload=PAYLOAD, reason: str = "firing") -> Notification:
    return Notification(channel="sms", reason=reason, idempotency_key="sms-k1", payload=payload, created_at=START)


def make_channel(receiver: Receiver, **settings) -> TwilioChannel:
    values = {"from_number": "+14155550100", "to": ["+14155550111"], **settings}
    config = TwilioChannelSettings(
        name="sms", account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, base_url=receiver.origin, **values
    )
    return TwilioChannel(config, AUTH_TOKEN, FakeClock())


def form(request: dict) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request["body"].decode()).items()}


def test_twilio_posts_form_with_basic_auth():
    with Receiver() as receiver:
        receiver.replies.append(CREATED)
        asyncio.run(make_channel(receiver).send(make_notification()))

    request = receiver.requests[0]
    assert request["path"] == "/2010-04-01/Accounts/%s/Messages.json" % ACCOUNT_SID
    expected_auth = base64.b64encode(("%s:%s" % (ACCOUNT_SID, AUTH_TOKEN)).encode()).decode()
    assert request["headers"]["Authorization"] == "Basic " + expected_auth
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    fields = form(request)
    assert fields["To"] == "+14155550111"
    assert fields["From"] == "+14155550100"
    assert fields["Body"].startswith("[FIRING critical] Microsoft bounce rate 12.5% over 10%")


def test_twilio_one_message_per_recipient():
    with Receiver() as receiver:
        channel = make_channel(receiver, to=["+14155550111", "+14155550122"])
        asyncio.run(channel.send(make_notification()))
    assert [form(request)["To"] for request in receiver.requests] == ["+14155550111", "+14155550122"]


def test_twilio_messaging_service_replaces_from():
    service = "MG" + "0123456789abcdef" * 2
    with Receiver() as receiver:
        channel = make_channel(receiver, from_number=None, messaging_service_sid=service)
        asyncio.run(channel.send(make_notification()))
    fields = form(receiver.requests[0])
    assert fields["MessagingServiceSid"] == service
    assert "From" not in fields


def test_twilio_warning_skipped_by_default():
    with Receiver() as receiver:
        asyncio.run(make_channel(receiver).send(make_notification(dict(PAYLOAD, severity="warning"))))
    assert receiver.requests == []


def test_twilio_min_severity_warning_sends_warning():
    with Receiver() as receiver:
        channel = make_channel(receiver, min_severity="warning")
        asyncio.run(channel.send(make_notification(dict(PAYLOAD, severity="warning"))))
    assert len(receiver.requests) == 1


def test_twilio_test_notification_ignores_min_severity():
    with Receiver() as receiver:
        asyncio.run(make_channel(receiver).send(make_notification(dict(PAYLOAD, severity="info"), reason="test")))
    assert len(receiver.requests) == 1


def test_twilio_long_body_cut_to_limit():
    with Receiver() as receiver:
        channel = make_channel(receiver)
        asyncio.run(channel.send(make_notification(dict(PAYLOAD, summary="x" * 5000))))
    assert len(form(receiver.requests[0])["Body"]) == MAX_BODY


@pytest.mark.parametrize(
    "status, retryable",
    [
        pytest.param(429, True, id="429-too-many-requests"),
        pytest.param(500, True, id="500-server-error"),
        pytest.param(400, False, id="400-invalid-number"),
        pytest.param(401, False, id="401-bad-credentials"),
        pytest.param(404, False, id="404-unknown-account"),
    ],
)
def test_twilio_status_sets_retryable(status, retryable):
    with Receiver() as receiver:
        receiver.replies.append((status, {}))
        with pytest.raises(ChannelError) as caught:
            asyncio.run(make_channel(receiver).send(make_notification()))
    assert caught.value.retryable is retryable


def test_twilio_logs_and_errors_hold_no_auth_token(tmp_path, caplog):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    outbox_id = insert_notification(engine, "k-sms", channel="sms")
    with Receiver() as receiver:
        receiver.replies.extend([(500, {}), (401, {})])
        sender = OutboxSender(engine, {"sms": make_channel(receiver)}, FakeClock(), random=lambda: 0.0)
        with caplog.at_level(logging.DEBUG):
            asyncio.run(sender.drain_once(START))
            asyncio.run(sender.drain_once(START + timedelta(minutes=1)))

    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    encoded = base64.b64encode(("%s:%s" % (ACCOUNT_SID, AUTH_TOKEN)).encode()).decode()
    for text in (caplog.text, row["last_error"]):
        assert AUTH_TOKEN not in text
        assert encoded not in text
    engine.dispose()
