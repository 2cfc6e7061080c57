"""SendGrid Signed Event Webhook: ECDSA P-256 with SHA-256 over timestamp + raw body.

SendGrid sends the base64 DER signature in `X-Twilio-Email-Event-Webhook-Signature`
and the Unix time in `X-Twilio-Email-Event-Webhook-Timestamp` (SendGrid docs,
"Getting Started with the Event Webhook Security Features"). The
verification key shown in the SendGrid settings is a base64 DER
SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, check_timestamp, missing

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """Load the verification key from base64 DER (as SendGrid shows it) or PEM."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise ValueError("invalid SendGrid verification key: %s; copy it from the Event Webhook settings" % exc) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("invalid SendGrid verification key: expected an ECDSA public key, got %s" % type(key).__name__)
    return key


class SendGridVerifier:
    def __init__(self, public_key: str, max_age: timedelta) -> None:
        self.key = load_public_key(public_key)
        self.max_age = max_age

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise missing("SendGrid signature headers X-Twilio-Email-Event-Webhook-Signature and -Timestamp")
        try:
            der = base64.b64decode(signature, validate=True)
        except binascii.Error:
            raise VerificationError("invalid SendGrid signature: not base64") from None
        try:
            self.key.verify(der, timestamp.encode("utf-8") + request.body, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise VerificationError("SendGrid signature does not match the body and timestamp") from None
        check_timestamp(timestamp, now, self.max_age, "SendGrid timestamp")
        return None
