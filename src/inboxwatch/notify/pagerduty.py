"""The PagerDuty channel: events sent to the Events API v2.

Request and response shapes follow PagerDuty's Events API v2 reference
(developer.pagerduty.com/docs/events-api-v2/trigger-events). Events are
POSTed as JSON to `/v2/enqueue`, and PagerDuty replies 202 when it accepts
one, 400 for an invalid event and 429 when throttled. The `dedup_key` is the alert group's key, so a trigger
repeated after a crash joins the open incident instead of opening a second
one, and acknowledge and resolve find the incident the trigger opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from inboxwatch.config.channels import PagerDutyChannelSettings
from inboxwatch.notify.alertgroup import AlertGroup, read_group
from inboxwatch.notify.http import HttpPoster
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.rendering import MessageTemplates, alert_url

log = logging.getLogger(__name__)

ENQUEUE_PATH = "/v2/enqueue"

# Events API v2 limits: `summary` at most 1024 characters, `dedup_key` at most 255.
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255

# PagerDuty severities are critical, error, warning and info.
SEVERITY_BY_ALERT_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}

EVENT_ACTION_BY_REASON = {"acknowledged": "acknowledge", "resolved": "resolve"}

# Labels that name the affected system, in the order tried for `payload.source`.
SOURCE_LABELS = ("sending_ip", "sending_domain", "domain", "ip")


class PagerDutyChannel:
    """Sends trigger, acknowledge and resolve events for alert groups."""

    def __init__(
        self,
        settings: PagerDutyChannelSettings,
        routing_key: str,
        clock: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._routing_key = routing_key
        self._clock = clock
        self.templates = MessageTemplates("pagerduty", settings)
        self.http = HttpPoster("pagerduty", settings.timeout, [routing_key], transport)

    async def send(self, notification: Notification) -> None:
        event = self.build_event(notification)
        await self.http.post(self.settings.base_url + ENQUEUE_PATH, self._clock(), json=event)
        log.debug(
            "channel %s: pagerduty accepted %s for dedup key %s", self.name, event["event_action"], event["dedup_key"]
        )

    def preview(self, notification: Notification) -> str:
        """Return the JSON event this channel would send, with the routing key hidden."""
        event = self.build_event(notification)
        event["routing_key"] = "(routing_key)"
        return json.dumps(event, indent=2)

    def build_event(self, notification: Notification) -> dict[str, Any]:
        group = read_group(notification.payload, notification.reason)
        action = event_action(notification.reason, group)
        event: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": action,
            "dedup_key": dedup_key(group.group_key),
        }
        # Acknowledge and resolve events need only the key; PagerDuty ignores a payload on them.
        if action != "trigger":
            return event

        rendered = self.templates.render(notification)
        event["payload"] = {
            "summary": rendered.subject[:MAX_SUMMARY],
            "source": self.source(group),
            "severity": SEVERITY_BY_ALERT_SEVERITY.get(group.severity, "warning"),
            "timestamp": notification.created_at.isoformat(),
            "component": component(group),
            "group": group.alerts[0].tenant if group.alerts and group.alerts[0].tenant else None,
            "class": group.alerts[0].rule if group.alerts else None,
            "custom_details": custom_details(group, rendered.body),
        }
        event["payload"] = {key: value for key, value in event["payload"].items() if value is not None}
        event["client"] = "inboxwatch"
        link = alert_url(group, self.settings.external_url)
        if link:
            event["client_url"] = link
            event["links"] = [{"href": link, "text": "Open in inboxwatch"}]
        return event

    def source(self, group: AlertGroup) -> str:
        if self.settings.source:
            return self.settings.source
        labels = group.common_labels
        for label in SOURCE_LABELS:
            if labels.get(label):
                return str(labels[label])
        tenant = group.alerts[0].tenant if group.alerts else ""
        return tenant or "inboxwatch"


def event_action(reason: str, group: AlertGroup) -> str:
    if group.status == "resolved":
        return "resolve"
    return EVENT_ACTION_BY_REASON.get(reason, "trigger")


def dedup_key(group_key: str) -> str:
    """Use the group key as it is when it fits PagerDuty's 255 characters, else its SHA-256."""
    if len(group_key) <= MAX_DEDUP_KEY:
        return group_key
    return hashlib.sha256(group_key.encode("utf-8")).hexdigest()


def component(group: AlertGroup) -> str | None:
    provider = group.common_labels.get("provider")
    return str(provider) if provider else None


def custom_details(group: AlertGroup, body: str) -> dict[str, Any]:
    return {
        "message": body,
        "alerts": [
            {
                "rule": alert.rule,
                "severity": alert.severity,
                "state": alert.state,
                "labels": dict(alert.labels),
                "value": alert.value,
                "threshold": alert.threshold,
                "denominator": alert.denominator,
                "alert_id": alert.alert_id,
            }
            for alert in group.alerts
        ],
    }
