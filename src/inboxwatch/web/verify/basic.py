"""HTTP basic authentication or a bearer token, for ESPs that sign nothing (Postmark, SparkPost, Brevo).

Postmark and Brevo put basic credentials in the webhook URL; SparkPost
offers basic authentication or OAuth 2. Either the configured username and
password or the configured token is accepted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime

from inboxwatch.web.verify.base import VerificationError, WebhookRequest, missing


class BasicAuthVerifier:
    def __init__(self, esp: str, *, username: str | None, password: str | None, token: str | None) -> None:
        self.esp = esp
        self.username = username
        self.password = password
        self.token = token

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        authorization = request.headers.get("authorization", "")
        scheme, _, credentials = authorization.partition(" ")
        if not credentials:
            raise missing("%s credentials: an Authorization header with Basic or Bearer" % self.esp)
        if scheme.lower() == "bearer" and self.token is not None:
            if hmac.compare_digest(credentials.strip().encode("utf-8"), self.token.encode("utf-8")):
                return None
            raise VerificationError("%s bearer token does not match webhooks.%s secret" % (self.esp, self.esp))
        if scheme.lower() == "basic" and self.username is not None and self.password is not None:
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise VerificationError("%s basic credentials are not valid base64" % self.esp) from None
            username, _, password = decoded.partition(":")
            # Both comparisons run, so timing does not reveal which one failed.
            user_ok = hmac.compare_digest(username.encode("utf-8"), self.username.encode("utf-8"))
            password_ok = hmac.compare_digest(password.encode("utf-8"), self.password.encode("utf-8"))
            if user_ok and password_ok:
                return None
            raise VerificationError("%s basic credentials do not match webhooks.%s username and password" % (self.esp, self.esp))
        raise VerificationError("%s Authorization scheme %r is not configured for this receiver" % (self.esp, scheme))
