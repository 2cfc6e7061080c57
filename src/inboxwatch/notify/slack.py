"""The Slack-compatible channel: incoming webhooks of Slack, Mattermost and Rocket.Chat.

Slack gets a Block Kit message (api.slack.com/block-kit) with a `text`
fallback for notifications and clients that do not show blocks.
Mattermost and Rocket.Chat get Markdown `text`, which both render. Incoming
webhooks do not deduplicate, so a retry after a lost reply posts twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from inboxwatch.config.channels import SlackChannelSettings
from inboxwatch.notify.alertgroup import read_group
from inboxwatch.notify.http import HttpPoster
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.rendering import MessageTemplates, RenderedMessage, alert_url

log = logging.getLogger(__name__)

# Block Kit limits from Slack's block reference (api.slack.com/reference/block-kit/blocks):
# a header's plain_text is at most 150 characters and a section's text at most 3000.
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000

# Template names tried per flavor; Rocket.Chat reads Slack's mrkdwn.
TEMPLATE_KINDS = {
    "slack": ("slack",),
    "mattermost": ("mattermost",),
    "rocketchat": ("rocketchat", "slack"),
}


class SlackChannel:
    """POSTs each notification to a Slack-compatible incoming webhook URL."""

    def __init__(
        self,
        settings: SlackChannelSettings,
        url: str,
        clock: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self._url = url
        self._clock = clock
        self.templates = MessageTemplates(TEMPLATE_KINDS[settings.flavor], settings)
        # The webhook URL is the credential, so it is redacted from errors.
        self.http = HttpPoster("%s webhook" % settings.flavor, settings.timeout, [url], transport)

    async def send(self, notification: Notification) -> None:
        document = self.build_message(notification)
        await self.http.post(self._url, self._clock(), json=document)
        log.debug("channel %s: %s accepted notification %s", self.name, self.settings.flavor, notification.idempotency_key)

    def preview(self, notification: Notification) -> str:
        """Return the JSON body this channel would send."""
        return json.dumps(self.build_message(notification), indent=2)

    def build_message(self, notification: Notification) -> dict[str, Any]:
        rendered = self.templates.render(notification)
        link = alert_url(read_group(notification.payload, notification.reason), self.settings.external_url)
        if self.settings.flavor == "slack":
            document = block_kit_message(rendered, link, notification)
        else:
            document = markdown_message(rendered, link)
        for key in ("channel", "username", "icon_url"):
            value = getattr(self.settings, key)
            if value:
                document[key] = value
        return document


def block_kit_message(rendered: RenderedMessage, link: str | None, notification: Notification) -> dict[str, Any]:
    """Build a header, the body as mrkdwn, a link button when there is a URL, and a context line."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(rendered.subject, MAX_HEADER_TEXT)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": shorten(rendered.body, MAX_SECTION_TEXT)}},
    ]
    if link:
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open in inboxwatch"}, "url": link}],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "reason %s · key %s" % (notification.reason, notification.idempotency_key)}],
        }
    )
    # `text` is what notifications and screen readers show.
    return {"text": rendered.subject, "blocks": blocks}


def markdown_message(rendered: RenderedMessage, link: str | None) -> dict[str, Any]:
    text = "#### %s\n%s" % (rendered.subject, rendered.body)
    if link:
        text += "\n[Open in inboxwatch](%s)" % link
    return {"text": text}


def shorten(text: str, limit: int) -> str:
    """Cut text to `limit` characters, ending with an ellipsis when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
