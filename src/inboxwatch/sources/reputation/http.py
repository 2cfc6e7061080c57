"""HTTP requests to reputation feeds, retried on timeouts, 429 and 5xx.

URLs are logged without their query, because the SNDS key travels in it,
and error text from a server passes through `redact` with the request's
secrets before it is logged or raised.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from inboxwatch.errors import FeedError

log = logging.getLogger(__name__)

# Maximum wait honoured from a Retry-After header, and the base of the exponential backoff, in seconds.
MAX_RETRY_AFTER = 120.0
BACKOFF_BASE = 2.0

# Characters of an error response body kept in the error message.
BODY_EXCERPT = 200


def request_with_retries(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    attempts: int,
    secrets: Iterable[str] = (),
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request up to `attempts` times and return the first 2xx response.

    Retries after a timeout, a connection error, 429 or 5xx, waiting as the
    Retry-After header requests (at most MAX_RETRY_AFTER) or 2, 4, 8... seconds.
    Raises `FeedError` on another 4xx at once, and after the last attempt.
    `what` names the request in messages ("SNDS data export").
    """
    secrets = [secret for secret in secrets if secret]
    parsed = httpx.URL(url)
    # Scheme, host, port and path only: the SNDS key is in the query.
    where = str(parsed.copy_with(query=None, fragment=None, username=None, password=None))
    error = FeedError("%s failed: no attempt made" % what)
    for attempt in range(1, attempts + 1):
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            error = FeedError("%s failed: timed out after %ss (%s)" % (what, client.timeout.read, where), retryable=True)
            wait = BACKOFF_BASE**attempt
        except httpx.TransportError as exc:
            error = FeedError("%s failed: %s (%s)" % (what, redact(str(exc) or type(exc).__name__, secrets), where), retryable=True)
            wait = BACKOFF_BASE**attempt
        else:
            if response.is_success:
                return response
            body = redact(response.text[:BODY_EXCERPT].strip(), secrets)
            retryable = response.status_code == 429 or response.status_code >= 500
            error = FeedError(
                "%s failed: HTTP %d from %s%s" % (what, response.status_code, where, ": %s" % body if body else ""),
                retryable=retryable,
                status=response.status_code,
            )
            if not retryable:
                raise error
            wait = retry_after(response) or BACKOFF_BASE**attempt
        if attempt < attempts:
            log.warning("%s; retrying in %.0fs (attempt %d of %d)", error, wait, attempt, attempts)
            sleep(wait)
    raise error


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret in `text` (error text a server may have echoed) with "[redacted]"."""
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


def retry_after(response: httpx.Response) -> float | None:
    """Return the Retry-After delay in seconds when it is a number, capped at MAX_RETRY_AFTER."""
    value = response.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER)
