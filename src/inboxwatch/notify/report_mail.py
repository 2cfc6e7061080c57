"""Mailing an HTML report through a configured email channel.

The report is one message with a plain-text part (where to find the
figures) and the HTML report as the alternative, submitted to the channel's
relay with the channel's TLS and credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from inboxwatch.config.channels import EmailChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.redaction import redact

log = logging.getLogger(__name__)


async def mail_report(settings: EmailChannelSettings, password: str | None, subject: str, html: str, clock: Callable[[], datetime]) -> None:
    """Send the report to the channel's recipients; raises `ChannelError` when the relay does not accept it."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.from_address
    message["To"] = ", ".join(settings.to)
    message["Date"] = format_datetime(clock())
    message["Message-ID"] = make_msgid(domain=settings.from_address.rpartition("@")[2] or None)
    message.set_content("%s\n\nThis message contains an HTML report; open it in a mail client that shows HTML.\n" % subject)
    message.add_alternative(html, subtype="html")
    relay = "%s:%d" % (settings.host, settings.port)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=password,
            use_tls=settings.use_tls,
            start_tls=settings.starttls and not settings.use_tls,
            validate_certs=settings.verify_tls,
            cert_bundle=str(settings.ca_file) if settings.ca_file else None,
            timeout=settings.timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise ChannelError("mailing the report via %s failed: %s" % (relay, redact(str(exc), [password])), retryable=True) from exc
    log.info("report %r mailed via %s to %d recipients", subject, relay, len(settings.to))
