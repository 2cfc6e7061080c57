import asyncio
import json
import logging

import pytest

from inboxwatch.config.channels import AppriseChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.apprise_channel import AppriseChannel
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.redaction import url_secrets

from notify_support import PAYLOAD, START, FakeClock, Receiver, free_port

# A path segment long enough to count as a token for redaction.
TOKEN = "apprise-path-token-93c1"


def make_notification(payload=PAYLOAD, reason: str = "firing") -> Notification:
    return Notification(channel="other", reason=reason, idempotency_key="ap-k1", payload=payload, created_at=START)


def json_url(receiver: Receiver) -> str:
    # Apprise's json:// schema POSTs {"title", "message", "type", ...} to http://HOST:PORT/PATH.
    return "json://127.0.0.1:%d/hooks/%s" % (receiver.server.server_address[1], TOKEN)


def make_channel(urls: list[str]) -> AppriseChannel:
    settings = AppriseChannelSettings(name="other", urls=urls, timeout=30)
    return AppriseChannel(settings, urls, FakeClock())


def test_apprise_json_url_receives_title_and_body():
    with Receiver() as receiver:
        asyncio.run(make_channel([json_url(receiver)]).send(make_notification()))

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks/%s" % TOKEN
    document = json.loads(request["body"])
    assert document["title"] == "[FIRING critical] Microsoft bounce rate 12.5% over 10%"
    assert "provider_bounce_rate" in document["message"]
    assert document["type"] == "failure"


def test_apprise_resolved_is_success_type():
    with Receiver() as receiver:
        asyncio.run(make_channel([json_url(receiver)]).send(make_notification(dict(PAYLOAD, state="resolved"), "resolved")))
    assert json.loads(receiver.requests[0]["body"])["type"] == "success"


def test_apprise_server_error_retryable():
    with Receiver() as receiver:
        receiver.replies.append((500, {}))
        with pytest.raises(ChannelError) as caught:
            asyncio.run(make_channel([json_url(receiver)]).send(make_notification()))
    assert caught.value.retryable


def test_apprise_connection_refused_retryable():
    url = "json://127.0.0.1:%d/hooks" % free_port()
    with pytest.raises(ChannelError) as caught:
        asyncio.run(make_channel([url]).send(make_notification()))
    assert caught.value.retryable


def test_apprise_invalid_url_permanent():
    with pytest.raises(ChannelError) as caught:
        asyncio.run(make_channel(["nosuchschema://%s" % TOKEN]).send(make_notification()))
    assert not caught.value.retryable
    assert TOKEN not in str(caught.value)


def test_apprise_logs_hold_no_url_token(caplog):
    url = "json://user:apprise-password-77@127.0.0.1:%d/hooks/%s" % (free_port(), TOKEN)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(ChannelError) as caught:
            asyncio.run(make_channel([url]).send(make_notification()))
    for text in (caplog.text, str(caught.value)):
        assert TOKEN not in text
        assert "apprise-password-77" not in text


def test_url_secrets_finds_tokens_in_every_position():
    secrets = url_secrets("tgram://123456:ABCDEFGHijkl@chatid-123456789/path-segment-long?token=Query-Token-xyz")
    assert "ABCDEFGHijkl" in secrets
    assert "path-segment-long" in secrets
    assert "Query-Token-xyz" in secrets


def test_apprise_settings_reject_missing_urls():
    with pytest.raises(ValueError, match="urls is missing"):
        AppriseChannelSettings(name="other")
