"""Mailgun webhook signatures: hex HMAC-SHA256 of timestamp + token with the webhook signing key.

The JSON webhooks carry `signature: {timestamp, token, signature}` beside
`event-data`; the legacy form webhooks carry the three as form fields
(Mailgun docs, "Securing Webhooks"). Events of a subaccount also carry
`parent-signature`, made with the primary account's key, which is accepted
too. A stale timestamp is rejected here, and the token is returned as the
request's nonce so that a reused one is rejected as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from datetime import datetime, timedelta

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, check_timestamp, missing


SIGNATURE_FIELDS = ("timestamp", "token", "signature", "parent-signature")


def signature_fields(body: bytes) -> dict[str, str]:
    """Return the signature fields found in a JSON or form body; raises VerificationError (401) for a body that is not valid JSON."""
    text = body.decode("utf-8", errors="replace").lstrip()
    if text.startswith("{"):
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            # The signature is inside the body, so a broken body cannot be verified and is not quarantined.
            raise VerificationError("invalid body: not valid JSON (%s), so its Mailgun signature cannot be verified" % exc.msg, status=401) from None
        fields = payload.get("signature") if isinstance(payload, dict) else None
        if not isinstance(fields, dict):
            return {}
        return {key: str(fields[key]) for key in SIGNATURE_FIELDS if key in fields}
    form = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return {key: form[key] for key in SIGNATURE_FIELDS if key in form}


class MailgunVerifier:
    def __init__(self, signing_key: str, max_age: timedelta) -> None:
        self.signing_key = signing_key.encode("utf-8")
        self.max_age = max_age

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        fields = signature_fields(request.body)
        if not all(key in fields for key in ("timestamp", "token", "signature")):
            raise missing("Mailgun signature fields timestamp, token and signature: the body must be JSON or a form that contains them")
        expected = hmac.new(self.signing_key, (fields["timestamp"] + fields["token"]).encode("utf-8"), hashlib.sha256).hexdigest()
        offered = [fields["signature"], fields.get("parent-signature", "")]
        if not any(hmac.compare_digest(expected, candidate.lower()) for candidate in offered):
            raise VerificationError("Mailgun signature does not match timestamp and token")
        check_timestamp(fields["timestamp"], now, self.max_age, "Mailgun timestamp")
        return fields["token"]
