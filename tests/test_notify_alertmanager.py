import asyncio
import json

from inboxwatch.config.channels import WebhookChannelSettings
from inboxwatch.notify.alertmanager import ZERO_TIME
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.webhook import WebhookChannel

from notify_support import PAYLOAD, START, FakeClock, Receiver

# Top-level keys of Alertmanager's webhook payload, version 4.
ALERTMANAGER_KEYS = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}


def send(payload, reason: str = "firing") -> tuple[dict, dict]:
    with Receiver() as receiver:
        settings = WebhookChannelSettings(
            name="am", url=receiver.url, format="alertmanager", external_url="https://iw.example.com"
        )
        channel = WebhookChannel(settings, "am-secret", FakeClock())
        notification = Notification(channel="am", reason=reason, idempotency_key="am-k1", payload=payload, created_at=START)
        asyncio.run(channel.send(notification))
    request = receiver.requests[0]
    return json.loads(request["body"]), request["headers"]


def test_alertmanager_single_alert_payload():
    document, headers = send(dict(PAYLOAD, alert_id=3))

    assert set(document) == ALERTMANAGER_KEYS
    assert document["version"] == "4"
    assert document["status"] == "firing"
    assert document["receiver"] == "am"
    assert document["groupKey"] == PAYLOAD["fingerprint"]
    assert document["externalURL"] == "https://iw.example.com"
    (alert,) = document["alerts"]
    assert set(alert) == ALERT_KEYS
    assert alert["labels"]["alertname"] == "provider_bounce_rate"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["provider"] == "microsoft"
    assert alert["annotations"]["summary"] == "Microsoft bounce rate 12.5% over 10%"
    assert alert["startsAt"] == PAYLOAD["fired_at"]
    assert alert["endsAt"] == ZERO_TIME
    assert alert["generatorURL"] == "https://iw.example.com/api/v1/alerts/3"
    # The idempotency and signature headers are sent in both formats.
    assert headers["Idempotency-Key"] == "am-k1"
    assert headers["X-Inboxwatch-Signature"].startswith("sha256=")


def test_alertmanager_group_payload_with_resolved_alert():
    resolved = dict(
        PAYLOAD,
        fingerprint="b7",
        state="resolved",
        resolved_at="2026-03-02T09:30:00+00:00",
        labels={"tenant": "default", "provider": "gmail"},
    )
    group = {
        "group_key": "{}:{rule=\"provider_bounce_rate\"}",
        "group_labels": {"rule": "provider_bounce_rate"},
        "summary": "1 firing, 1 resolved",
        "alerts": [PAYLOAD, resolved],
    }
    document, _headers = send(group)

    assert document["groupKey"] == group["group_key"]
    assert document["groupLabels"] == {"rule": "provider_bounce_rate"}
    assert document["status"] == "firing"
    assert [alert["status"] for alert in document["alerts"]] == ["firing", "resolved"]
    assert document["alerts"][1]["endsAt"] == "2026-03-02T09:30:00+00:00"
    assert document["commonLabels"] == {"alertname": "provider_bounce_rate", "severity": "critical", "tenant": "default"}


def test_alertmanager_resolved_reason_sets_status():
    document, _headers = send(dict(PAYLOAD, state="resolved", resolved_at="2026-03-02T09:30:00+00:00"), "resolved")
    assert document["status"] == "resolved"
    assert document["alerts"][0]["status"] == "resolved"
