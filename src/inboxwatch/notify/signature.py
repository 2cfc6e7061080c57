"""The webhook signature: HMAC-SHA256 over the timestamp and the raw body.

The signed message is the ASCII decimal Unix timestamp from the
`X-Inboxwatch-Timestamp` header, a full stop, then the request body bytes
exactly as received. The `X-Inboxwatch-Signature` header is `sha256=`
followed by the lowercase hex digest, keyed with the channel's secret.
Signing the timestamp lets a receiver reject a replayed request.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="

# A receiver's default tolerance between the signed timestamp and its clock.
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Compute the `X-Inboxwatch-Signature` header value for one request."""
    message = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Check a received signature and that the timestamp is within `tolerance` seconds of `now`.

    For receivers written in Python; docs/notifications.md shows the same
    check for other languages.
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
