"""The webhook channel: each notification POSTed as signed JSON with httpx."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from inboxwatch.config.channels import WebhookChannelSettings
from inboxwatch.notify.alertgroup import read_group
from inboxwatch.notify.alertmanager import alertmanager_payload
from inboxwatch.notify.http import HttpPoster, parse_retry_after
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.rendering import MessageTemplates
from inboxwatch.notify.signature import sign

log = logging.getLogger(__name__)

# `parse_retry_after` moved to notify.http; it stays importable from here.
__all__ = ["BODY_VERSION", "WebhookChannel", "encode_body", "parse_retry_after"]

# Version of the JSON body; it changes only when a field is removed or renamed.
BODY_VERSION = 1


class WebhookChannel:
    """POSTs each notification to one URL.

    Headers: `Idempotency-Key` (the same on every attempt),
    `X-Inboxwatch-Timestamp` (Unix seconds) and, when a secret is
    configured, `X-Inboxwatch-Signature` (see `notify.signature`).
    Redirects are not followed, so a signed body never goes to a host the
    configuration did not name. With `format = "alertmanager"` the body is
    the Alertmanager webhook payload instead (see `notify.alertmanager`).
    """

    def __init__(
        self,
        settings: WebhookChannelSettings,
        secret: str | None,
        clock: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._secret = secret
        self._clock = clock
        self.templates = MessageTemplates("webhook", settings)
        # Many webhook URLs carry a token in the path or query, so the URL is redacted like the secret.
        self.http = HttpPoster("webhook", settings.timeout, [secret, settings.url], transport)

    async def send(self, notification: Notification) -> None:
        body = self.encode(notification)
        now = self._clock()
        headers = self.build_headers(notification, body, now)
        await self.http.post(self.settings.url, now, content=body, headers=headers)
        log.debug("channel %s: webhook accepted notification %s", self.name, notification.idempotency_key)

    def preview(self, notification: Notification) -> str:
        """Return the request body this channel would send, as indented JSON."""
        return json.dumps(json.loads(self.encode(notification)), indent=2, sort_keys=True)

    def encode(self, notification: Notification) -> bytes:
        if self.settings.format == "alertmanager":
            group = read_group(notification.payload, notification.reason)
            document = alertmanager_payload(notification, group, self.name, self.settings.external_url)
            return compact_json(document)
        return encode_body(notification, self.templates.render(notification).subject)

    def build_headers(self, notification: Notification, body: bytes, now: datetime) -> dict[str, str]:
        timestamp = str(int(now.timestamp()))
        headers = dict(self.settings.headers)
        headers.update(
            {
                "Content-Type": "application/json",
                "Idempotency-Key": notification.idempotency_key,
                "X-Inboxwatch-Timestamp": timestamp,
            }
        )
        if self._secret:
            headers["X-Inboxwatch-Signature"] = sign(self._secret, timestamp, body)
        return headers


def encode_body(notification: Notification, subject: str | None = None) -> bytes:
    """Serialise the notification as compact JSON, identical on every attempt.

    `subject` is the rendered subject template; without it the built-in subject line is used.
    """
    document = {
        "version": BODY_VERSION,
        "idempotency_key": notification.idempotency_key,
        "channel": notification.channel,
        "reason": notification.reason,
        "subject": subject if subject is not None else notification.subject(),
        "created_at": notification.created_at.isoformat(),
        "alert": dict(notification.payload),
    }
    return compact_json(document)


def compact_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
