"""The Apprise channel: any service the `apprise` library has a URL schema for.

Apprise (github.com/caronc/apprise) reports only success or failure per
call, not why, so a failed notify is treated as worth retrying. A URL that
Apprise cannot parse is a permanent failure. Apprise services do not
deduplicate, so a retry after a partial failure notifies again every URL
of the channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import apprise

from inboxwatch.config.channels import AppriseChannelSettings
from inboxwatch.errors import ChannelError
from inboxwatch.notify.alertgroup import read_group
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.redaction import SecretFilter, redact, url_secrets
from inboxwatch.notify.rendering import MessageTemplates

log = logging.getLogger(__name__)

# Apprise logs URLs (at debug level, some with their tokens) under this
# logger; every channel adds its URLs' secret parts to one shared filter.
APPRISE_LOG_FILTER = SecretFilter()
logging.getLogger("apprise").addFilter(APPRISE_LOG_FILTER)


class AppriseChannel:
    """Sends each notification's subject and body to every configured Apprise URL."""

    def __init__(self, settings: AppriseChannelSettings, urls: list[str], clock: Callable[[], datetime]) -> None:
        self.name = settings.name
        self.settings = settings
        self._urls = urls
        self._clock = clock
        self._secrets = [secret for url in urls for secret in url_secrets(url)]
        APPRISE_LOG_FILTER.add(self._secrets)
        self.templates = MessageTemplates("apprise", settings)

    async def send(self, notification: Notification) -> None:
        rendered = self.templates.render(notification)
        notifier = self.build_notifier()
        try:
            async with asyncio.timeout(self.settings.timeout):
                result = await notifier.async_notify(
                    body=rendered.body, title=rendered.subject, notify_type=self.notify_type(notification)
                )
        except TimeoutError as exc:
            raise ChannelError("apprise failed: timed out after %ss" % self.settings.timeout, retryable=True) from exc
        if not result:
            raise ChannelError(
                "apprise failed: %s of %d URLs rejected the notification or were unreachable; run with -vv for Apprise's reason"
                % (self.failed_count(result), len(self._urls)),
                retryable=True,
            )
        log.debug("channel %s: apprise delivered to %d URLs", self.name, len(self._urls))

    def preview(self, notification: Notification) -> str:
        """Return the title, type and body this channel would pass to Apprise."""
        rendered = self.templates.render(notification)
        notify_type = self.notify_type(notification)
        type_name = getattr(notify_type, "value", notify_type)
        return "title: %s\ntype: %s\n\n%s" % (rendered.subject, type_name, rendered.body)

    def build_notifier(self) -> apprise.Apprise:
        """Load every URL into a new Apprise object; raise a permanent ChannelError for an invalid one."""
        notifier = apprise.Apprise()
        for index, url in enumerate(self._urls):
            if not notifier.add(url):
                schema = url.partition("://")[0]
                raise ChannelError(
                    "apprise failed: URL %d of channel %s (schema %s) is invalid or its schema is unknown; "
                    "check it against the Apprise documentation for that service"
                    % (index + 1, self.name, redact(schema, self._secrets)),
                    retryable=False,
                )
        return notifier

    @staticmethod
    def notify_type(notification: Notification) -> str:
        group = read_group(notification.payload, notification.reason)
        if group.status == "resolved":
            return apprise.NotifyType.SUCCESS
        if group.severity == "critical":
            return apprise.NotifyType.FAILURE
        if group.severity == "warning":
            return apprise.NotifyType.WARNING
        return apprise.NotifyType.INFO

    def failed_count(self, result: object) -> str:
        # Apprise 2 returns an AppriseResult with per-URL counts; Apprise 1 returns a bool.
        failed = getattr(result, "failed_count", None)
        if isinstance(failed, int):
            return str(failed)
        return "some"
