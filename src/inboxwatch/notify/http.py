"""One HTTP POST for an HTTP-based channel, with the shared rules for failures.

Every HTTP channel (webhook, Slack, PagerDuty, Twilio) classifies a failure
the same way. Connection errors, timeouts, 5xx, 408, 425 and 429 are worth
retrying, while redirects and other 4xx are permanent. Errors name only the
URL's origin and pass through `redact`, because URLs, bodies and replies may
contain tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from inboxwatch import __version__
from inboxwatch.errors import ChannelError
from inboxwatch.notify.redaction import install_url_filter, redact, url_origin

log = logging.getLogger(__name__)

install_url_filter("httpx")

USER_AGENT = "inboxwatch/%s" % __version__

# Characters of a rejected response's body quoted in the error.
MAX_QUOTED_BODY = 200

# 408 Request Timeout and 425 Too Early are 4xx replies that RFC 9110
# section 15.5.9 and RFC 8470 section 5.2 allow a client to repeat.
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


class HttpPoster:
    """POSTs requests for one channel and turns every failure into a ChannelError.

    `label` starts each error message (such as "slack webhook"); `secrets`
    are removed from any text quoted from the server or from httpx.
    Redirects are not followed, so a request never goes to a host the
    configuration did not name.
    """

    def __init__(
        self,
        label: str,
        timeout: float,
        secrets: Iterable[str | None] = (),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.label = label
        self.timeout = timeout
        self.secrets = [secret for secret in secrets if secret]
        self.transport = transport
        # Loading the CA bundle takes a noticeable fraction of a second, so
        # the TLS context is built once per channel rather than per send.
        self.ssl_context = httpx.create_ssl_context()

    async def post(self, url: str, now: datetime, **request: Any) -> httpx.Response:
        """Send one POST with httpx's `content`, `data`, `json`, `headers` or `auth` arguments.

        Returns the response when its status is 2xx.
        """
        target = url_origin(url)
        headers = {"User-Agent": USER_AGENT, **request.pop("headers", {})}
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout,
                transport=self.transport,
                verify=self.ssl_context,
                follow_redirects=False,
            ) as client:
                response = await client.post(url, headers=headers, **request)
        except httpx.TimeoutException as exc:
            raise ChannelError(
                "%s %s failed: timed out after %ss" % (self.label, target, self.timeout), retryable=True
            ) from exc
        except httpx.TransportError as exc:
            detail = redact(str(exc), [*self.secrets, url]) or type(exc).__name__
            raise ChannelError("%s %s failed: %s" % (self.label, target, detail), retryable=True) from exc

        if response.is_success:
            log.debug("%s %s accepted with %d", self.label, target, response.status_code)
            return response
        raise status_error(self.label, response, target, now, self.secrets)


def status_error(
    label: str, response: httpx.Response, target: str, now: datetime, secrets: Iterable[str]
) -> ChannelError:
    """Classify a non-2xx reply: retryable for 5xx, 408, 425 and 429; permanent otherwise."""
    status = response.status_code
    quoted = redact(response.text[:MAX_QUOTED_BODY], secrets).strip()
    message = "%s %s failed: HTTP %d %s" % (label, target, status, response.reason_phrase)
    if quoted:
        message += ": %s" % quoted

    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return ChannelError(
            "%s; redirects are not followed, set the URL to the final location %s" % (message, url_origin(location)),
            retryable=False,
        )
    if status >= 500 or status in RETRYABLE_CLIENT_ERRORS:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return ChannelError(message, retryable=True, retry_after=retry_after)
    return ChannelError(message, retryable=False)


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
