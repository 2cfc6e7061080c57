"""Building each configured ESP's verifier from its `[webhooks.<esp>]` table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from inboxwatch.config.webhooks import BASIC_AUTH_ESPS, WebhookSettings
from inboxwatch.web.verify.base import WebhookRequest
from inboxwatch.web.verify.basic import BasicAuthVerifier
from inboxwatch.web.verify.mailgun import MailgunVerifier
from inboxwatch.web.verify.mandrill import MandrillVerifier
from inboxwatch.web.verify.resend import StandardWebhooksVerifier
from inboxwatch.web.verify.sendgrid import SendGridVerifier
from inboxwatch.web.verify.sns import CertificateCache, SnsVerifier


class Verifier(Protocol):
    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """Raise VerificationError unless the request is authentic; return its one-time nonce, if any."""
        ...


def build_verifier(esp: str, settings: WebhookSettings, certificates: CertificateCache, environ: Mapping[str, str]) -> Verifier:
    """Build the verifier for `esp`; raises ConfigError for an unset secret variable, ValueError for a bad key."""
    secret = settings.resolve_secret(esp, environ)
    if esp == "ses":
        return SnsVerifier(settings.topic_arns, certificates)
    if esp in BASIC_AUTH_ESPS:
        return BasicAuthVerifier(esp, username=settings.username, password=settings.resolve_password(esp, environ), token=secret)
    # check_webhooks guarantees a secret for the signing schemes below.
    assert secret is not None
    if esp == "sendgrid":
        return SendGridVerifier(secret, settings.max_age)
    if esp == "mailgun":
        return MailgunVerifier(secret, settings.max_age)
    if esp == "mandrill":
        return MandrillVerifier(secret, settings.url)
    if esp == "resend":
        return StandardWebhooksVerifier(secret, settings.max_age)
    raise ValueError("no webhook verifier for ESP %r" % esp)
