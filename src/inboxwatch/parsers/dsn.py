"""RFC 3464 delivery status notifications: the message/delivery-status fields.

A delivery-status body is a per-message block of fields (Reporting-MTA,
Arrival-Date, ...) followed by one block per recipient (Final-Recipient,
Action, Status, Remote-MTA, Diagnostic-Code, ...), blocks separated by blank
lines (RFC 3464 section 2.1). Fields may be folded like header fields.
"""

from __future__ import annotations

import dataclasses
import re

from inboxwatch.parsers.mime import first_address

FIELD_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s?(.*)$")
# An SMTP reply code at the start of a diagnostic or after "said:".
REPLY_CODE = re.compile(r"(?:^|said:\s*|\]:\s*|\b(?:host|server)\b[^:]*:\s*)([245]\d\d)(?=[\s\-]|$)")
RECIPIENT_FIELDS = ("final-recipient", "original-recipient")
# Status comments that name the SMTP phase: Oracle Communications Messaging
# Server writes "Status: 5.0.0 (Remote SMTP server has rejected address)"
# when the reply was to RCPT TO.
STATUS_COMMENT_RCPT = re.compile(r"\(remote smtp server has rejected address\)", re.IGNORECASE)
TYPE_PREFIX = re.compile(r"^\s*(?:smtp|x-[a-z0-9-]+|rfc822|dns|x400|unix|mta)\s*;\s*", re.IGNORECASE)


@dataclasses.dataclass
class RecipientFailure:
    """The facts a notice reports for one recipient, before classification."""

    recipient: str | None
    status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    action: str | None = None
    # The SMTP command that the error reply was sent for (RCPT, DATA, MAIL, HELO), when stated.
    command: str | None = None
    # The Diagnostic-Code type (`smtp`, `x-unix`, ...), lower-cased.
    diagnostic_type: str | None = None


def field_blocks(text: str) -> list[dict[str, str]]:
    """Split delivery-status text into blocks of fields, keys in lower case.

    Continuation lines are joined to the field they fold. A repeated field
    keeps its first value, except a repeated recipient field, which starts
    the next block.
    """
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last_key: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last_key = {}, None
            continue
        if line[0] in " \t" and last_key:
            current[last_key] += " " + line.strip()
            continue
        match = FIELD_LINE.match(line)
        if not match:
            continue
        key = match.group(1).lower()
        if key in RECIPIENT_FIELDS and key in current:
            # Some MTAs (AOL among them) omit the blank line between
            # recipient blocks: a repeated recipient field starts a new one.
            blocks.append(current)
            current = {}
        elif key in current:
            last_key = None
            continue
        current[key] = match.group(2).strip()
        last_key = key
    if current:
        blocks.append(current)
    return blocks


def strip_type(value: str | None) -> str | None:
    """Remove the address or diagnostic type (`rfc822;`, `smtp;`) of a DSN field."""
    if value is None:
        return None
    return TYPE_PREFIX.sub("", value).strip() or None


def diagnostic_type(value: str | None) -> str | None:
    """Return the type before the semicolon of a Diagnostic-Code field, lower-cased."""
    if not value or ";" not in value:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def find_reply_code(text: str | None) -> int | None:
    """Return the SMTP reply code that a diagnostic text quotes, if any."""
    if not text:
        return None
    match = REPLY_CODE.search(text)
    return int(match.group(1)) if match else None


def recipient_failures(blocks: list[dict[str, str]]) -> list[RecipientFailure]:
    """Build one `RecipientFailure` per recipient block of a delivery-status body."""
    failures = []
    for block in blocks:
        recipient_field = block.get("final-recipient") or block.get("original-recipient")
        if not recipient_field:
            continue
        diagnostic_field = block.get("diagnostic-code")
        diagnostic = strip_type(diagnostic_field)
        status_field = block.get("status", "")
        status_match = re.search(r"[245]\.\d{1,3}\.\d{1,3}", status_field)
        failures.append(
            RecipientFailure(
                recipient=first_address(strip_type(recipient_field)),
                status=status_match.group(0) if status_match else None,
                smtp_code=find_reply_code(diagnostic),
                diagnostic=diagnostic,
                remote_mta=strip_type(block.get("remote-mta")),
                action=(block.get("action") or "").split()[0].lower() if block.get("action") else None,
                diagnostic_type=diagnostic_type(diagnostic_field),
                command="RCPT" if STATUS_COMMENT_RCPT.search(status_field) else None,
            )
        )
    return failures
