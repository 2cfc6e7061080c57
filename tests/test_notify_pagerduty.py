import asyncio
import json
import logging
from datetime import timedelta

import pytest

from inboxwatch.config.channels import PagerDutyChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.pagerduty import PagerDutyChannel, dedup_key
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.store.db import open_engine

from notify_support import PAYLOAD, START, FakeClock, Receiver, insert_notification, outbox_row

ROUTING_KEY = "R0utingKey0123456789abcdefABCDEF"

# PagerDuty's reply to an accepted event, from the Events API v2 reference.
ACCEPTED = (202, {})


def make_notification(reason: str = "firing", payload=PAYLOAD) -> Notification:
    return Notification(channel="pager", reason=reason, idempotency_key="pd-k1", payload=payload, created_at=START)


def make_channel(receiver: Receiver, **settings) -> PagerDutyChannel:
    config = PagerDutyChannelSettings(
        name="pager", routing_key=ROUTING_KEY, base_url=receiver.origin, external_url="https://iw.example.com", **settings
    )
    return PagerDutyChannel(config, ROUTING_KEY, FakeClock())


def send_event(reason: str = "firing", payload=PAYLOAD, **settings) -> tuple[dict, str]:
    with Receiver() as receiver:
        receiver.replies.append(ACCEPTED)
        asyncio.run(make_channel(receiver, **settings).send(make_notification(reason, payload)))
    request = receiver.requests[0]
    return json.loads(request["body"]), request["path"]


def test_pagerduty_trigger_event_shape():
    event, path = send_event(payload=dict(PAYLOAD, alert_id=5, labels={"provider": "microsoft", "sending_ip": "192.0.2.7"}))

    assert path == "/v2/enqueue"
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == PAYLOAD["fingerprint"]
    details = event["payload"]
    assert details["summary"] == "[FIRING critical] Microsoft bounce rate 12.5% over 10%"
    assert details["severity"] == "critical"
    assert details["source"] == "192.0.2.7"
    assert details["component"] == "microsoft"
    assert details["class"] == "provider_bounce_rate"
    assert details["custom_details"]["alerts"][0]["value"] == 0.125
    assert event["links"] == [{"href": "https://iw.example.com/api/v1/alerts/5", "text": "Open in inboxwatch"}]


@pytest.mark.parametrize(
    "reason, action",
    [
        pytest.param("firing", "trigger", id="firing-triggers"),
        pytest.param("repeat", "trigger", id="repeat-triggers-same-key"),
        pytest.param("acknowledged", "acknowledge", id="acknowledged"),
        pytest.param("resolved", "resolve", id="resolved"),
    ],
)
def test_pagerduty_reason_sets_event_action(reason, action):
    event, _path = send_event(reason)
    assert event["event_action"] == action
    # Every action of one alert uses the same key, so PagerDuty finds the incident.
    assert event["dedup_key"] == PAYLOAD["fingerprint"]


def test_pagerduty_resolve_carries_no_payload():
    event, _path = send_event("resolved")
    assert set(event) == {"routing_key", "event_action", "dedup_key"}


def test_pagerduty_group_payload_uses_group_key():
    group = {
        "group_key": "route-default:{rule=\"provider_bounce_rate\"}",
        "group_labels": {"rule": "provider_bounce_rate"},
        "summary": "2 firing: Microsoft bounce rate 12.5% over 10%",
        "alerts": [PAYLOAD, dict(PAYLOAD, severity="warning", labels={"provider": "gmail"})],
    }
    event, _path = send_event(payload=group)
    assert event["dedup_key"] == group["group_key"]
    assert event["payload"]["severity"] == "critical"
    assert len(event["payload"]["custom_details"]["alerts"]) == 2


def test_pagerduty_long_group_key_is_hashed():
    key = "k" * 300
    assert len(dedup_key(key)) == 64
    assert dedup_key(key) == dedup_key(key)
    assert dedup_key("short") == "short"


def test_pagerduty_source_setting_wins():
    event, _path = send_event(source="mta-1.example.com")
    assert event["payload"]["source"] == "mta-1.example.com"


@pytest.mark.parametrize(
    "status, retryable",
    [
        pytest.param(429, True, id="429-throttled"),
        pytest.param(500, True, id="500-server-error"),
        pytest.param(503, True, id="503-unavailable"),
        pytest.param(400, False, id="400-invalid-event"),
        pytest.param(403, False, id="403-forbidden"),
    ],
)
def test_pagerduty_status_sets_retryable(status, retryable):
    with Receiver() as receiver:
        receiver.replies.append((status, {}))
        with pytest.raises(ChannelError) as caught:
            asyncio.run(make_channel(receiver).send(make_notification()))
    assert caught.value.retryable is retryable


def test_pagerduty_logs_and_errors_hold_no_routing_key(tmp_path, caplog):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    outbox_id = insert_notification(engine, "k-pager", channel="pager")
    with Receiver() as receiver:
        receiver.replies.extend([(500, {}), (400, {})])
        sender = OutboxSender(engine, {"pager": make_channel(receiver)}, FakeClock(), random=lambda: 0.0)
        with caplog.at_level(logging.DEBUG):
            asyncio.run(sender.drain_once(START))
            asyncio.run(sender.drain_once(START + timedelta(minutes=1)))

    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    for text in (caplog.text, row["last_error"]):
        assert ROUTING_KEY not in text
    engine.dispose()


def test_pagerduty_preview_hides_routing_key():
    with Receiver() as receiver:
        text = make_channel(receiver).preview(make_notification())
    assert ROUTING_KEY not in text
    assert json.loads(text)["event_action"] == "trigger"
