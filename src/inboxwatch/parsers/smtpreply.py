"""SMTP reply codes, enhanced status codes and bounce verdicts from ESP event fields.

ESPs pass the receiving server's reply on as text ("smtp; 550 5.1.1 user
unknown", "RecipientError: 550 5.5.0 ..."). The fields built here have the
names of `DeliveryEvent`, so a parser can pass them on with `**`.
"""

from __future__ import annotations

import re
from typing import Any

from inboxwatch.classify.bounce import classify, find_enhanced_status

# A reply code at the start of the text, after an optional "smtp;" diagnostic
# type (RFC 3464 section 2.3.6).
LEADING_REPLY_CODE = re.compile(r"^\s*(?:smtp\s*;\s*)?([245]\d\d)(?![\d.])", re.IGNORECASE)

# A reply code elsewhere in the text, trusted only when an enhanced status
# code (RFC 3463) follows it.
REPLY_CODE_BEFORE_STATUS = re.compile(r"(?<![\d.])([245]\d\d)[ \-]+[245]\.\d{1,3}\.\d{1,3}\b")

ENHANCED_STATUS_VALUE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


def smtp_code_of(value: Any) -> int | None:
    """Return `value` as a reply code (int or numeric text from 200 to 599), else None."""
    if value is None or value == "":
        return None
    try:
        code = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return code if 200 <= code <= 599 else None


def enhanced_status_of(value: Any) -> str | None:
    """Return `value` when it is an enhanced status code such as 5.1.1, else None."""
    if isinstance(value, str) and ENHANCED_STATUS_VALUE.match(value.strip()):
        return value.strip()
    return None


def reply_code_in(text: str | None) -> int | None:
    if not text:
        return None
    match = LEADING_REPLY_CODE.match(text) or REPLY_CODE_BEFORE_STATUS.search(text)
    return int(match.group(1)) if match else None


def reply_fields(diagnostic: Any, *, code: Any = None, status: Any = None) -> dict[str, Any]:
    """Build `smtp_code`, `enhanced_status` and `diagnostic`, reading the text for what the fields lack."""
    text = diagnostic.strip() if isinstance(diagnostic, str) and diagnostic.strip() else None
    return {
        "smtp_code": smtp_code_of(code) or reply_code_in(text),
        "enhanced_status": enhanced_status_of(status) or find_enhanced_status(text),
        "diagnostic": text,
    }


def bounce_fields(diagnostic: Any, *, code: Any = None, status: Any = None, hard: bool | None = None) -> dict[str, Any]:
    """Build the reply fields plus `bounce_reason` and `hard` for a bounced event.

    `hard` is the ESP's own verdict where it gives one (SES Permanent,
    Postmark HardBounce); without one the classifier decides from the codes
    and the text.
    """
    fields = reply_fields(diagnostic, code=code, status=status)
    verdict = classify(fields["smtp_code"], fields["enhanced_status"], fields["diagnostic"])
    fields["bounce_reason"] = verdict.reason
    fields["hard"] = verdict.hard if hard is None else hard
    return fields
