"""The webhook channel: each notification POSTed as signed JSON with httpx."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from inboxwatch import __version__
from inboxwatch.config.channels import WebhookChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.redaction import install_url_filter, redact, url_origin
from inboxwatch.notify.signature import sign

log = logging.getLogger(__name__)

install_url_filter("httpx")

# Version of the JSON body; it changes only when a field is removed or renamed.
BODY_VERSION = 1

# Characters of a rejected response's body quoted in the error.
MAX_QUOTED_BODY = 200

# 408 Request Timeout and 425 Too Early are 4xx replies that RFC 9110
# section 15.5.9 and RFC 8470 section 5.2 allow a client to repeat.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


class WebhookChannel:
    """POSTs each notification to one URL.

    Headers: `Idempotency-Key` (the same on every attempt),
    `X-Inboxwatch-Timestamp` (Unix seconds) and, when a secret is
    configured, `X-Inboxwatch-Signature` (see `notify.signature`).
    Redirects are not followed, so a signed body never goes to a host the
    configuration did not name.
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
        self._transport = transport
        # Loading the CA bundle takes a noticeable fraction of a second, so
        # the TLS context is built once per channel rather than per send.
        self._ssl_context = httpx.create_ssl_context()

    async def send(self, notification: Notification) -> None:
        body = encode_body(notification)
        now = self._clock()
        headers = self.build_headers(notification, body, now)
        target = url_origin(self.settings.url)
        try:
            async with httpx.AsyncClient(
                timeout=self.settings.timeout,
                transport=self._transport,
                verify=self._ssl_context,
                follow_redirects=False,
            ) as client:
                response = await client.post(self.settings.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ChannelError(
                "webhook %s failed: timed out after %ss" % (target, self.settings.timeout), retryable=True
            ) from exc
        except httpx.TransportError as exc:
            detail = redact(str(exc), [self._secret, self.settings.url]) or type(exc).__name__
            raise ChannelError("webhook %s failed: %s" % (target, detail), retryable=True) from exc

        if response.is_success:
            log.debug("channel %s: webhook %s accepted with %d", self.name, target, response.status_code)
            return
        raise self.status_error(response, target, now)

    def build_headers(self, notification: Notification, body: bytes, now: datetime) -> dict[str, str]:
        timestamp = str(int(now.timestamp()))
        headers = dict(self.settings.headers)
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": "inboxwatch/%s" % __version__,
                "Idempotency-Key": notification.idempotency_key,
                "X-Inboxwatch-Timestamp": timestamp,
            }
        )
        if self._secret:
            headers["X-Inboxwatch-Signature"] = sign(self._secret, timestamp, body)
        return headers

    def status_error(self, response: httpx.Response, target: str, now: datetime) -> ChannelError:
        status = response.status_code
        quoted = redact(response.text[:MAX_QUOTED_BODY], [self._secret]).strip()
        message = "webhook %s failed: HTTP %d %s" % (target, status, response.reason_phrase)
        if quoted:
            message += ": %s" % quoted

        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            return ChannelError(
                "%s; redirects are not followed, set url to the final location %s" % (message, url_origin(location)),
                retryable=False,
            )
        if status >= 500 or status in RETRYABLE_CLIENT_ERRORS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
            return ChannelError(message, retryable=True, retry_after=retry_after)
        return ChannelError(message, retryable=False)


def encode_body(notification: Notification) -> bytes:
    """Serialise the notification as compact JSON, identical on every attempt."""
    document = {
        "version": BODY_VERSION,
        "idempotency_key": notification.idempotency_key,
        "channel": notification.channel,
        "reason": notification.reason,
        "subject": notification.subject(),
        "created_at": notification.created_at.isoformat(),
        "alert": dict(notification.payload),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Read a Retry-After header (RFC 9110 section 10.2.3): delay seconds or an HTTP date.

    Returns None when the header is missing or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        log.debug("ignoring unreadable Retry-After %r", value)
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - now).total_seconds(), 0.0)
