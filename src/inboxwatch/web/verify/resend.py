"""Standard Webhooks signatures, as Resend (through Svix) sends them.

The signed text is `<webhook-id>.<webhook-timestamp>.<body>`; the signature
header lists space-separated `v1,<base64 HMAC-SHA256>` entries, one per
active secret, and any one matching suffices. The secret is `whsec_`
followed by the base64 key (Standard Webhooks specification, "Verifying
Webhook Authenticity"). Svix names the headers `svix-id`, `svix-timestamp`
and `svix-signature`; both spellings are accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import datetime, timedelta

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, check_timestamp, missing

SECRET_PREFIX = "whsec_"


def decode_secret(secret: str) -> bytes:
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX):]
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("invalid Resend signing secret: expected whsec_ followed by base64") from None


def header(request: WebhookRequest, name: str) -> str | None:
    return request.headers.get("webhook-" + name) or request.headers.get("svix-" + name)


class StandardWebhooksVerifier:
    def __init__(self, secret: str, max_age: timedelta) -> None:
        self.key = decode_secret(secret)
        self.max_age = max_age

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        message_id = header(request, "id")
        timestamp = header(request, "timestamp")
        signatures = header(request, "signature")
        if not message_id or not timestamp or not signatures:
            raise missing("Standard Webhooks headers webhook-id, webhook-timestamp and webhook-signature")
        signed = message_id.encode("utf-8") + b"." + timestamp.encode("utf-8") + b"." + request.body
        expected = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode("ascii")
        offered = [entry.split(",", 1)[1] for entry in signatures.split() if entry.startswith("v1,")]
        if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
            raise VerificationError("Resend signature does not match webhook-id, webhook-timestamp and the body")
        check_timestamp(timestamp, now, self.max_age, "Resend webhook-timestamp")
        # The id stays the same when the ESP retries, so it is not a one-time nonce.
        return None
