"""The original message that a bounce or complaint returns, and its tracking headers.

RFC 3464 and RFC 5965 reports return the original as a message/rfc822 or
text/rfc822-headers part; non-MIME notices quote its headers after a marker
line. The headers tie a report back to its send: Message-ID, the campaign
and the tenant that inboxwatch senders stamp on their mail.
"""

from __future__ import annotations

import dataclasses
import re
from email.message import Message

from inboxwatch.parsers.mime import header_text, parse_headers, part_text, typed_leaves

CAMPAIGN_HEADERS = ("X-Campaign", "X-Campaign-ID", "X-Campaign-Id", "X-Mailgun-Campaign-Id", "X-Inboxwatch-Campaign")
TENANT_HEADERS = ("X-Inboxwatch-Tenant", "X-Tenant")
HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:\s")


@dataclasses.dataclass(frozen=True)
class ReturnedMessage:
    """Tracking facts read from a returned original message."""

    message_id: str | None = None
    sender: str | None = None
    recipient: str | None = None
    campaign: str | None = None
    tenant: str | None = None
    headers: Message | None = None


def returned_headers(message: Message, notice_text: str = "") -> Message | None:
    """Return the headers of the returned original, or None when there are none."""
    for content_type, part in typed_leaves(message):
        if content_type == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            return parse_headers(part_text(part))
        if content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            return parse_headers(part_text(part))
    return quoted_headers(notice_text)


def quoted_headers(text: str) -> Message | None:
    """Parse the first run of header lines quoted inside a plain-text notice."""
    lines = text.replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if re.match(r"^(?:Return-Path|Received|Message-ID|From|Date|To|Subject|MIME-Version):\s", line, re.IGNORECASE):
            block = []
            for following in lines[index:]:
                if not following.strip():
                    break
                if not (HEADER_LINE.match(following) or following[:1] in " \t"):
                    break
                block.append(following)
            if len(block) >= 2:
                return parse_headers("\n".join(block) + "\n\n")
    return None


def read_returned(headers: Message | None) -> ReturnedMessage:
    if headers is None:
        return ReturnedMessage()
    return ReturnedMessage(
        message_id=first_header(headers, ("Message-ID", "Message-Id")),
        sender=header_text(headers, "From"),
        recipient=header_text(headers, "To"),
        campaign=first_header(headers, CAMPAIGN_HEADERS),
        tenant=first_header(headers, TENANT_HEADERS),
        headers=headers,
    )


def first_header(headers: Message, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = header_text(headers, name)
        if value:
            return value.strip()
    return None
