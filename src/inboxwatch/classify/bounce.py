"""Bounce classification: from SMTP reply code, enhanced status code and text to a reason.

Reasons use the vocabulary Sisimai made common (userunknown, mailboxfull,
blocked, ...). `hard` means the failure is permanent for that address.
"""

from __future__ import annotations

import dataclasses
import re

# Reasons that are permanent for the address itself.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})

ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclasses.dataclass(frozen=True, slots=True)
class Classification:
    reason: str
    hard: bool
    status: str | None = None
    # What decided the reason: the pattern or code that matched, for `explain`.
    matched: str | None = None


def find_enhanced_status(text: str | None) -> str | None:
    """Return the first RFC 3463 enhanced status code in `text`, if any."""
    if not text:
        return None
    match = ENHANCED_STATUS.search(text)
    return match.group(0) if match else None


def classify(smtp_code: int | None, enhanced_status: str | None, text: str | None) -> Classification:
    """Classify one failed delivery.

    NOTE: this first version reads the codes only; the text patterns come
    with the bounce classifier tables.
    """
    status = enhanced_status or find_enhanced_status(text)
    if status in ("5.1.1", "5.1.10", "5.1.0", "5.1.6"):
        reason = "hasmoved" if status == "5.1.6" else "userunknown"
        return Classification(reason, True, status, status)
    if status == "5.1.2":
        return Classification("hostunknown", True, status, status)
    if status and status.startswith("2."):
        return Classification("delivered", False, status, status)
    return Classification("undefined", False, status, None)


def is_permanent(smtp_code: int | None, enhanced_status: str | None) -> bool | None:
    """Return True for a 5xx failure, False for 4xx, None when neither code says."""
    if enhanced_status and enhanced_status[:1] in "45":
        return enhanced_status[0] == "5"
    if smtp_code:
        return smtp_code >= 500
    return None
