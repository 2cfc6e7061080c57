import asyncio
import json
import logging
from datetime import timedelta

import pytest

from inboxwatch.config.channels import SlackChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.notify.slack import SlackChannel
from inboxwatch.store.db import open_engine

from notify_support import PAYLOAD, START, FakeClock, Receiver, insert_notification, outbox_row

DASHBOARD = "https://inboxwatch.example.com"


def make_notification(payload=PAYLOAD, reason: str = "firing") -> Notification:
    return Notification(channel="chat", reason=reason, idempotency_key="slack-k1", payload=payload, created_at=START)


def make_channel(url: str, **settings) -> SlackChannel:
    config = SlackChannelSettings(name="chat", url=url, external_url=DASHBOARD, **settings)
    return SlackChannel(config, url, FakeClock())


def posted(receiver: Receiver) -> dict:
    return json.loads(receiver.requests[0]["body"])


def test_slack_block_kit_message_layout():
    payload = dict(PAYLOAD, alert_id=17)
    with Receiver() as receiver:
        asyncio.run(make_channel(receiver.url).send(make_notification(payload)))

    document = posted(receiver)
    assert receiver.requests[0]["path"] == "/hooks/inboxwatch?token=query-token"
    assert document["text"] == "[FIRING critical] Microsoft bounce rate 12.5% over 10%"
    kinds = [block["type"] for block in document["blocks"]]
    assert kinds == ["header", "section", "actions", "context"]
    section = document["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert "*Severity:* critical" in section["text"]
    assert "provider=microsoft" in section["text"]
    assert "0.125 vs threshold 0.1" in section["text"]
    button = document["blocks"][2]["elements"][0]
    assert button["url"] == DASHBOARD + "/api/v1/alerts/17"


def test_slack_without_external_url_has_no_button():
    with Receiver() as receiver:
        settings = SlackChannelSettings(name="chat", url=receiver.url)
        asyncio.run(SlackChannel(settings, receiver.url, FakeClock()).send(make_notification()))
    kinds = [block["type"] for block in posted(receiver)["blocks"]]
    assert "actions" not in kinds


def test_slack_escapes_mrkdwn_control_characters():
    payload = dict(PAYLOAD, labels={"list": "<news & offers>"})
    with Receiver() as receiver:
        asyncio.run(make_channel(receiver.url).send(make_notification(payload)))
    section = posted(receiver)["blocks"][1]["text"]["text"]
    assert "list=&lt;news &amp; offers&gt;" in section


@pytest.mark.parametrize("flavor", ["mattermost", "rocketchat"])
def test_slack_flavor_sends_plain_text(flavor):
    with Receiver() as receiver:
        channel = make_channel(receiver.url, flavor=flavor, channel="deliverability", username="inboxwatch")
        asyncio.run(channel.send(make_notification(dict(PAYLOAD, alert_id=17))))

    document = posted(receiver)
    assert "blocks" not in document
    assert document["text"].startswith("#### [FIRING critical] Microsoft bounce rate 12.5% over 10%")
    assert "[Open in inboxwatch](%s/api/v1/alerts/17)" % DASHBOARD in document["text"]
    assert document["channel"] == "deliverability"
    assert document["username"] == "inboxwatch"


def test_slack_mattermost_uses_markdown_bold():
    with Receiver() as receiver:
        asyncio.run(make_channel(receiver.url, flavor="mattermost").send(make_notification()))
    assert "**Severity:** critical" in posted(receiver)["text"]


def test_slack_group_payload_lists_every_alert():
    group = {
        "summary": "2 firing: Microsoft bounce rate 12.5% over 10%",
        "group_key": "group-1",
        "group_labels": {"rule": "provider_bounce_rate"},
        "alerts": [PAYLOAD, dict(PAYLOAD, labels={"provider": "gmail"}, summary="Gmail bounce rate 11% over 10%")],
    }
    with Receiver() as receiver:
        asyncio.run(make_channel(receiver.url).send(make_notification(group)))
    document = posted(receiver)
    section = document["blocks"][1]["text"]["text"]
    assert document["text"] == "[FIRING critical] 2 firing: Microsoft bounce rate 12.5% over 10%"
    assert "provider=microsoft" in section
    assert "provider=gmail" in section


@pytest.mark.parametrize(
    "status, retryable",
    [
        pytest.param(500, True, id="500-server-error"),
        pytest.param(429, True, id="429-rate-limited"),
        pytest.param(400, False, id="400-invalid-payload"),
        pytest.param(404, False, id="404-channel-not-found"),
        pytest.param(410, False, id="410-channel-archived"),
    ],
)
def test_slack_status_sets_retryable(status, retryable):
    with Receiver() as receiver:
        receiver.replies.append((status, {}))
        with pytest.raises(ChannelError) as caught:
            asyncio.run(make_channel(receiver.url).send(make_notification()))
    assert caught.value.retryable is retryable
    assert "HTTP %d" % status in str(caught.value)


def test_slack_logs_and_errors_hold_no_webhook_token(tmp_path, caplog):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    outbox_id = insert_notification(engine, "k-slack", channel="chat")
    with Receiver() as receiver:
        receiver.replies.extend([(500, {}), (400, {})])
        sender = OutboxSender(engine, {"chat": make_channel(receiver.url)}, FakeClock(), random=lambda: 0.0)
        with caplog.at_level(logging.DEBUG):
            asyncio.run(sender.drain_once(START))
            asyncio.run(sender.drain_once(START + timedelta(minutes=1)))

    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    for text in (caplog.text, row["last_error"]):
        assert "query-token" not in text
        assert "/hooks/" not in text
    engine.dispose()


def test_slack_url_from_environment():
    settings = SlackChannelSettings(name="chat", url_env="SLACK_URL")
    assert settings.resolve_url({"SLACK_URL": "https://hooks.slack.com/services/T/B/X"}).endswith("/X")
