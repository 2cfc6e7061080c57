"""The SMS channel: text messages through Twilio's Programmable Messaging REST API.

Each recipient gets one `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`
with HTTP basic authentication (Account SID and auth token) and the form
fields `To`, `From` (or `MessagingServiceSid`) and `Body`, as Twilio's
"Create a Message resource" reference describes. Twilio replies 201 when it
accepts a message. Twilio does not deduplicate message requests, so a retry
after a lost reply sends the text again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import httpx

from inboxwatch.config.channels import TwilioChannelSettings
from inboxwatch.notify.alertgroup import SEVERITY_RANK, read_group
from inboxwatch.notify.http import HttpPoster
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.rendering import MessageTemplates

log = logging.getLogger(__name__)

# Twilio rejects a Body longer than 1600 characters (error 21617).
MAX_BODY = 1600


class TwilioChannel:
    """Sends each notification as one text message per number in `to`.

    Notifications about alerts below `min_severity` are dropped without a
    request and count as delivered, so they do not wait in the outbox.
    """

    def __init__(
        self,
        settings: TwilioChannelSettings,
        auth_token: str,
        clock: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._auth_token = auth_token
        self._clock = clock
        self.templates = MessageTemplates("twilio", settings)
        self.http = HttpPoster("twilio", settings.timeout, [auth_token], transport)
        self.url = "%s/2010-04-01/Accounts/%s/Messages.json" % (settings.base_url, settings.account_sid)

    async def send(self, notification: Notification) -> None:
        if not self.wanted(notification):
            log.info(
                "outbox %s: channel %s: skipped, severity below min_severity %s",
                notification.outbox_id,
                self.name,
                self.settings.min_severity,
            )
            return
        auth = httpx.BasicAuth(self.settings.account_sid, self._auth_token)
        # NOTE: with several recipients, a failure after the first accepted
        # message makes the retry text the earlier recipients again; one
        # channel per number avoids that.
        for fields in self.build_forms(notification):
            await self.http.post(self.url, self._clock(), data=fields, auth=auth)
            log.debug("channel %s: twilio accepted a message to %s", self.name, fields["To"])

    def preview(self, notification: Notification) -> str:
        """Return the form fields of each message this channel would send."""
        if not self.wanted(notification):
            return "(nothing: severity is below min_severity %s)" % self.settings.min_severity
        forms = self.build_forms(notification)
        return "\n\n".join("\n".join("%s: %s" % item for item in fields.items()) for fields in forms)

    def wanted(self, notification: Notification) -> bool:
        """Tell whether the notification's highest severity reaches `min_severity`; test notifications always do."""
        if notification.reason == "test":
            return True
        severity = read_group(notification.payload, notification.reason).severity
        return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[self.settings.min_severity]

    def build_forms(self, notification: Notification) -> list[dict[str, str]]:
        body = self.templates.render(notification).body.strip()
        if len(body) > MAX_BODY:
            body = body[: MAX_BODY - 1] + "…"
        sender = (
            {"From": self.settings.from_number}
            if self.settings.from_number
            else {"MessagingServiceSid": str(self.settings.messaging_service_sid)}
        )
        return [{"To": number, **sender, "Body": body} for number in self.settings.to]
