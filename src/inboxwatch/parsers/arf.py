"""Complaint reports: RFC 5965 ARF, its older `Version: 0.1` form, and the
non-ARF reports of Microsoft JMRP and Apple Mail unsubscribes.

An ARF report is multipart/report with a message/feedback-report part of
fields (RFC 5965 section 3.1) and the original as message/rfc822 or
text/rfc822-headers. RFC 6591 authentication failure reports use the same
form with `Feedback-Type: auth-failure`.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from email.message import Message

from inboxwatch.model.bounces import ComplaintRecord
from inboxwatch.parsers.dsn import field_blocks
from inboxwatch.parsers.mime import first_address, header_text, part_text, typed_leaves
from inboxwatch.parsers.returned import read_returned, returned_headers

FEEDBACK_PART = "message/feedback-report"
ORIGINAL_RCPT_TO = re.compile(r"^Original-Rcpt-To:[ \t]*(\S.*?)\s*$", re.IGNORECASE | re.MULTILINE)
IPV4_OR_V6 = re.compile(r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})\b", re.IGNORECASE)
# Microsoft JMRP reports carry the complained-about recipient in this header
# of the returned message.
JMRP_RECIPIENT_HEADER = "X-HmXmrOriginalRecipient"


def is_complaint(message: Message) -> bool:
    """True when `message` is a feedback report of any supported form."""
    if feedback_part(message) is not None:
        return True
    if (header_text(message, "X-Apple-Unsubscribe") or "").strip().lower() == "true":
        return True
    return jmrp_recipient(message) is not None


def feedback_part(message: Message) -> Message | None:
    for part in message.walk():
        # The substring test skips the costlier parameter parsing for most parts.
        if "feedback-report" in (part.get("Content-Type") or "").lower() and part.get_content_type() == FEEDBACK_PART:
            return part
    return None


def message_part_text(part: Message) -> str:
    """Return the text of a message/* part, undoing a transfer encoding the parser kept.

    The stdlib parser reads any message/* body as an embedded message, so a
    base64 or quoted-printable feedback-report body arrives still encoded.
    """
    text = part_text(part)
    encoding = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if encoding == "base64":
        try:
            return base64.b64decode("".join(text.split()), validate=False).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return text
    if encoding == "quoted-printable":
        return quopri.decodestring(text.encode("utf-8", errors="replace")).decode("utf-8", errors="replace")
    return text


def jmrp_recipient(message: Message) -> str | None:
    for content_type, part in typed_leaves(message):
        if content_type != "message/rfc822":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            value = header_text(payload[0], JMRP_RECIPIENT_HEADER)
            if value:
                return value.strip()
    return None


def complaint_record(message: Message) -> ComplaintRecord:
    """Build the complaint record for a message that `is_complaint` accepted."""
    returned = read_returned(returned_headers(message))
    part = feedback_part(message)
    if part is not None:
        report = message_part_text(part)
        fields = merged_fields(report)
        return ComplaintRecord(
            feedback_type=(fields.get("feedback-type") or "other").strip().lower(),
            version=fields.get("version"),
            user_agent=fields.get("user-agent"),
            source_ip=first_ip(fields.get("source-ip")),
            reported_domain=fields.get("reported-domain"),
            original_rcpt_to=fields.get("original-rcpt-to") or fields.get("removal-recipient"),
            original_mail_from=fields.get("original-mail-from"),
            original_message_id=returned.message_id,
            arrival_date=fields.get("arrival-date") or fields.get("received-date"),
            reporting_mta=fields.get("reporting-mta"),
            auth_failure=fields.get("auth-failure"),
            campaign=returned.campaign,
            tenant=returned.tenant,
            original_recipients=tuple(value.strip() for value in ORIGINAL_RCPT_TO.findall(report)),
        )
    if jmrp_recipient(message) is not None:
        return jmrp_record(message, returned)
    return ComplaintRecord(
        feedback_type="opt-out",
        user_agent="Apple Mail",
        original_rcpt_to=first_address(header_text(message, "To")),
        original_mail_from=first_address(header_text(message, "From")),
        original_message_id=returned.message_id,
        arrival_date=header_text(message, "Date"),
    )


def jmrp_record(message: Message, returned) -> ComplaintRecord:
    """Microsoft JMRP: no report fields, so the facts come from the subject and returned headers."""
    subject = header_text(message, "Subject") or ""
    ip = IPV4_OR_V6.search(subject)
    headers = returned.headers
    mail_from = None
    if headers is not None:
        mail_from = first_address(header_text(headers, "Return-Path") or header_text(headers, "From"))
    return ComplaintRecord(
        feedback_type="abuse",
        user_agent="Microsoft JMRP",
        source_ip=ip.group(0) if ip else None,
        reported_domain=mail_from.rsplit("@", 1)[1] if mail_from else None,
        original_rcpt_to=jmrp_recipient(message),
        original_mail_from=mail_from,
        original_message_id=returned.message_id,
        arrival_date=header_text(message, "Date"),
        campaign=returned.campaign,
        tenant=returned.tenant,
    )


def merged_fields(text: str) -> dict[str, str]:
    """Return the report's fields in one mapping; the first value of a field wins."""
    merged: dict[str, str] = {}
    for block in field_blocks(text):
        for key, value in block.items():
            merged.setdefault(key, value)
    return merged


def first_ip(value: str | None) -> str | None:
    if not value:
        return None
    match = IPV4_OR_V6.search(value)
    return match.group(0) if match else value.strip()
