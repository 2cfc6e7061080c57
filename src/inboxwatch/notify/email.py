"""The email channel: alert messages submitted to an SMTP relay with aiosmtplib."""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from inboxwatch.config.channels import EmailChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.redaction import redact
from inboxwatch.notify.rendering import MessageTemplates

log = logging.getLogger(__name__)

# RFC 5322 section 3.6.4 limits a msg-id to atext characters and dots. So
# an idempotency key made of these characters goes into the Message-ID as
# it is, and any other key is hashed first.
MESSAGE_ID_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class EmailChannel:
    """Sends each notification as one email with a plain-text and an HTML part.

    The Message-ID is derived from the idempotency key, so a notification
    sent twice (after a crash, or a lost reply) arrives as two copies of the
    same message, which mail clients and archives recognise.
    """

    def __init__(self, settings: EmailChannelSettings, password: str | None, clock: Callable[[], datetime]) -> None:
        self.name = settings.name
        self.settings = settings
        self._password = password
        self._clock = clock
        self.templates = MessageTemplates("email", settings, with_html=True)

    async def send(self, notification: Notification) -> None:
        message = self.build_message(notification)
        settings = self.settings
        try:
            refused_recipients, reply = await aiosmtplib.send(
                message,
                hostname=settings.host,
                port=settings.port,
                username=settings.username,
                password=self._password,
                use_tls=settings.use_tls,
                start_tls=settings.starttls and not settings.use_tls,
                validate_certs=settings.verify_tls,
                cert_bundle=str(settings.ca_file) if settings.ca_file else None,
                timeout=settings.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise self.recipients_refused_error(exc) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self.smtp_error(exc) from exc

        # The relay may refuse some recipients and accept others. Sending
        # again would repeat the message to those who got it, so this counts as sent.
        for recipient, response in refused_recipients.items():
            log.warning(
                "outbox %s: channel %s: relay %s refused recipient %s: %s %s",
                notification.outbox_id,
                self.name,
                self.relay(),
                recipient,
                response.code,
                self.clean(response.message),
            )
        log.debug("channel %s: relay %s accepted message: %s", self.name, self.relay(), self.clean(reply))

    def preview(self, notification: Notification) -> str:
        """Return the message this channel would submit, headers and MIME parts."""
        return self.build_message(notification).as_string()

    def build_message(self, notification: Notification) -> EmailMessage:
        """Build the MIME message from the templates: text/plain first, text/html as the alternative."""
        rendered = self.templates.render(notification)
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = self.settings.from_address
        message["To"] = ", ".join(self.settings.to)
        message["Date"] = format_datetime(self._clock())
        message["Message-ID"] = message_id(notification.idempotency_key, self.settings.from_address)
        message["X-Inboxwatch-Idempotency-Key"] = notification.idempotency_key
        message.set_content(rendered.body)
        if rendered.html is not None:
            message.add_alternative(rendered.html, subtype="html")
        return message

    def relay(self) -> str:
        return "%s:%d" % (self.settings.host, self.settings.port)

    def clean(self, text: object) -> str:
        return redact(str(text), [self._password])

    def recipients_refused_error(self, exc: aiosmtplib.SMTPRecipientsRefused) -> ChannelError:
        replies = "; ".join("%s: %s %s" % (r.recipient, r.code, self.clean(r.message)) for r in exc.recipients)
        # A temporary refusal of any recipient (4xx) may clear up on retry.
        retryable = any(400 <= r.code < 500 for r in exc.recipients)
        return ChannelError(
            "email via %s failed: relay refused every recipient: %s" % (self.relay(), replies), retryable=retryable
        )

    def smtp_error(self, exc: BaseException) -> ChannelError:
        relay = self.relay()
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            # RFC 4954 section 6: 454 is a temporary authentication failure,
            # 535 means the credentials are wrong.
            return ChannelError(
                "email via %s failed: authentication as %r rejected: %s %s; check username and password"
                % (relay, self.settings.username, exc.code, self.clean(exc.message)),
                retryable=400 <= exc.code < 500,
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return ChannelError(
                "email via %s failed: relay replied %s %s" % (relay, exc.code, self.clean(exc.message)),
                retryable=not 500 <= exc.code < 600,
            )
        if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
            return ChannelError(
                "email via %s failed: timed out after %ss" % (relay, self.settings.timeout), retryable=True
            )
        if isinstance(exc.__cause__, ssl.SSLCertVerificationError) or isinstance(exc, ssl.SSLCertVerificationError):
            return ChannelError(
                "email via %s failed: TLS certificate not trusted: %s; set ca_file or fix the relay's certificate"
                % (relay, self.clean(exc)),
                retryable=False,
            )
        if isinstance(exc, OSError):
            # Refused connections, resets and disconnects are usually passing.
            return ChannelError(
                "email via %s failed: %s" % (relay, self.clean(exc) or type(exc).__name__), retryable=True
            )
        # What remains are mismatches between the settings and the relay,
        # such as starttls = true against a relay that does not offer it.
        return ChannelError(
            "email via %s failed: %s; check starttls, use_tls, username and password against what the relay offers"
            % (relay, self.clean(exc)),
            retryable=False,
        )


def message_id(idempotency_key: str, from_address: str) -> str:
    """Derive the Message-ID from the idempotency key and the sender's domain."""
    if MESSAGE_ID_SAFE_KEY.match(idempotency_key):
        local = idempotency_key
    else:
        local = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "inboxwatch.invalid"
    return "<inboxwatch.%s@%s>" % (local, domain)

