"""Mailgun webhook signatures: hex HMAC-SHA256 of timestamp + token with the webhook signing key.

The JSON webhooks carry `signature: {timestamp, token, signature}` beside
`event-data`; the legacy form webhooks carry the three as form fields.
Mailgun advises rejecting a token seen before and a stale timestamp (Mailgun
docs, "Securing Webhooks"), so the token is returned as the request's nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from datetime import datetime, timedelta

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, check_timestamp, missing


def signature_fields(body: bytes) -> dict[str, str]:
    """Return timestamp, token and signature from a JSON or form body; missing ones are absent."""
    text = body.decode("utf-8", errors="replace").lstrip()
    if text.startswith("{"):
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            return {}
        fields = payload.get("signature") if isinstance(payload, dict) else None
        if not isinstance(fields, dict):
            return {}
        return {key: str(fields[key]) for key in ("timestamp", "token", "signature") if key in fields}
    form = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return {key: form[key] for key in ("timestamp", "token", "signature") if key in form}


class MailgunVerifier:
    def __init__(self, signing_key: str, max_age: timedelta) -> None:
        self.signing_key = signing_key.encode("utf-8")
        self.max_age = max_age

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        fields = signature_fields(request.body)
        if len(fields) != 3:
            raise missing("Mailgun signature fields timestamp, token and signature")
        expected = hmac.new(self.signing_key, (fields["timestamp"] + fields["token"]).encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["signature"].lower()):
            raise VerificationError("Mailgun signature does not match timestamp and token")
        check_timestamp(fields["timestamp"], now, self.max_age, "Mailgun timestamp")
        return fields["token"]
