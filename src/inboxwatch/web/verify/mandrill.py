"""Mandrill webhook signatures: base64 HMAC-SHA1 over the URL and the sorted POST fields.

The signed text is the webhook URL exactly as registered, followed by each
POST field name and value, with the fields sorted by name. The key is the
webhook's authentication key, and the result arrives in `X-Mandrill-Signature`
(Mailchimp Transactional docs, "How to Authenticate Webhook Requests").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import datetime

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, missing

SIGNATURE_HEADER = "x-mandrill-signature"


def mandrill_signature(key: str, url: str, fields: dict[str, str]) -> str:
    text = url + "".join(name + fields[name] for name in sorted(fields))
    digest = hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class MandrillVerifier:
    def __init__(self, key: str, url: str | None) -> None:
        self.key = key
        # Without a configured URL the request's own URL is used, which is
        # right unless a proxy changes the scheme, host or path.
        self.url = url

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise missing("Mandrill signature header X-Mandrill-Signature")
        fields = dict(urllib.parse.parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        expected = mandrill_signature(self.key, self.url or request.url, fields)
        if not hmac.compare_digest(expected, signature.strip()):
            raise VerificationError("Mandrill signature does not match the URL and fields; check webhooks.mandrill url")
        return None
