"""Amazon SNS message signatures, for SES events delivered to an HTTPS subscription.

SNS signs the canonical text "Key\\nValue\\n" of fixed keys in alphabetical
order with RSA: SHA1withRSA for SignatureVersion 1 and SHA256withRSA for
version 2. The signing certificate is fetched from `SigningCertURL`, which
must be on `https://sns.<region>.amazonaws.com/`, so that a forged message
cannot name a certificate of its own (Amazon SNS Developer Guide,
"Verifying the signatures of Amazon SNS messages"). Raw message delivery
has no signature and is rejected.

NOTE: the certificate's issuer and chain are not checked. Trust rests on the
HTTPS connection to the SNS host, whose server certificate httpx verifies.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, missing

log = logging.getLogger(__name__)

# The only hosts SNS certificates and subscription URLs may come from.
# NOTE: partitions other than aws (amazonaws.com.cn, GovCloud variants of the
# name) are not accepted yet.
SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com$")

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SUBSCRIPTION_TYPES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")

SIGNATURE_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

# Certificates kept in memory; SNS uses one per region at a time, so a few suffice.
MAX_CACHED_CERTIFICATES = 16

FETCH_TIMEOUT_SECONDS = 10.0

# Fetches a URL that passed `check_sns_url` and returns the response body;
# tests inject one that reaches a server on loopback.
Fetcher = Callable[[str], bytes]


def https_fetch(url: str) -> bytes:
    response = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False)
    response.raise_for_status()
    return response.content


def check_sns_url(url: Any, field: str) -> str:
    """Return `url` when it is HTTPS on an SNS host with no credentials or port; raise VerificationError otherwise."""
    if not isinstance(url, str) or not url:
        raise missing("SNS field %s" % field)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or parts.username or parts.password or parts.port or not SNS_HOST.match(parts.hostname or ""):
        raise VerificationError("SNS %s %r is not on https://sns.<region>.amazonaws.com/" % (field, url[:200]))
    return url


def canonical_text(envelope: dict[str, Any]) -> bytes:
    keys = SUBSCRIPTION_KEYS if envelope.get("Type") in SUBSCRIPTION_TYPES else NOTIFICATION_KEYS
    lines = []
    for key in keys:
        if key not in envelope:
            continue
        lines.append("%s\n%s\n" % (key, envelope[key]))
    return "".join(lines).encode("utf-8")


class CertificateCache:
    """Public keys of SNS signing certificates by URL, fetched once each."""

    def __init__(self, fetch: Fetcher) -> None:
        self.fetch = fetch
        self.keys: OrderedDict[str, rsa.RSAPublicKey] = OrderedDict()
        self.lock = threading.Lock()

    def public_key(self, url: str) -> rsa.RSAPublicKey:
        with self.lock:
            key = self.keys.get(url)
            if key is not None:
                self.keys.move_to_end(url)
                return key
        try:
            pem = self.fetch(url)
        except (httpx.HTTPError, OSError) as exc:
            log.error("fetching SNS signing certificate %s failed: %s", url, exc)
            raise VerificationError("fetching SNS signing certificate %s failed: %s" % (url, exc)) from exc
        try:
            certificate = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise VerificationError("SNS signing certificate %s is not a PEM certificate: %s" % (url, exc)) from None
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationError("SNS signing certificate %s has no RSA key" % url)
        with self.lock:
            self.keys[url] = key
            while len(self.keys) > MAX_CACHED_CERTIFICATES:
                self.keys.popitem(last=False)
        return key


class SnsVerifier:
    """Verifies SNS envelopes and checks their topic against the allowed ARNs."""

    def __init__(self, topic_arns: Collection[str], certificates: CertificateCache) -> None:
        self.topic_arns = frozenset(topic_arns)
        self.certificates = certificates

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        self.verified_envelope(request.body)
        return None

    def verified_envelope(self, body: bytes) -> dict[str, Any]:
        """Return the envelope when its topic is allowed and its signature is valid."""
        envelope = decode_envelope(body)
        topic = envelope.get("TopicArn")
        if topic not in self.topic_arns:
            raise VerificationError("SNS topic %r is not in webhooks.ses topic_arns" % topic)
        hash_type = SIGNATURE_HASHES.get(str(envelope.get("SignatureVersion")))
        if hash_type is None:
            raise VerificationError("unsupported SNS SignatureVersion %r: expected 1 or 2" % envelope.get("SignatureVersion"))
        signature_text = envelope.get("Signature")
        if not isinstance(signature_text, str) or not signature_text:
            raise missing("SNS field Signature")
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except binascii.Error:
            raise VerificationError("invalid SNS Signature: not base64") from None
        key = self.certificates.public_key(check_sns_url(envelope.get("SigningCertURL"), "SigningCertURL"))
        try:
            key.verify(signature, canonical_text(envelope), padding.PKCS1v15(), hash_type())
        except InvalidSignature:
            raise VerificationError("SNS signature does not match the message") from None
        return envelope


def decode_envelope(body: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        # The signature is inside the envelope, so a broken body cannot be verified and is not quarantined.
        raise VerificationError(
            "invalid body: not valid JSON, so its SNS signature cannot be verified (raw message delivery must be off)", status=401
        ) from None
    if not isinstance(envelope, dict) or "Type" not in envelope or "TopicArn" not in envelope:
        raise missing("SNS envelope: Type and TopicArn (raw message delivery must be off)")
    return envelope


def confirm_subscription(envelope: dict[str, Any], fetch: Fetcher) -> None:
    """Visit the SubscribeURL of a verified SubscriptionConfirmation, which activates the subscription."""
    url = check_sns_url(envelope.get("SubscribeURL"), "SubscribeURL")
    fetch(url)
    log.info("confirmed SNS subscription to topic %s", envelope.get("TopicArn"))
