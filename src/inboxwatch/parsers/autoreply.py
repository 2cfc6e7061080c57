"""Recognition of automatic replies (RFC 3834, vacation and out-of-office notices).

An auto-reply shows that the mailbox exists and mail reached it, so it must never
count as a bounce. Bounces also carry `Auto-Submitted`, so callers check for
bounce evidence first.
"""

from __future__ import annotations

import re
from email.message import Message

from inboxwatch.parsers.mime import header_text

# Subjects that vacation responders use (Outlook, Exchange, Gmail, Yahoo,
# and their French, German, Spanish and Japanese versions).
VACATION_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[- ]?(?:reply|response|answer)|out of (?:the )?office|away from (?:the )?office|"
    r"away until|on vacation|vacation|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|"
    r"absence|respuesta autom[áa]tica|fuera de la oficina|risposta automatica|自動応答|不在)",
    re.IGNORECASE,
)
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Vacation", "X-Autoresponder")


def auto_reply_evidence(message: Message) -> str | None:
    """Return the header or subject that marks `message` as an auto-reply, or None."""
    auto_submitted = (header_text(message, "Auto-Submitted") or "").strip().lower()
    # RFC 3834 section 5.1: "auto-replied" marks a response to a message.
    if auto_submitted.startswith("auto-replied"):
        return "Auto-Submitted: %s" % auto_submitted
    for name in AUTO_HEADERS:
        if message.get(name) is not None:
            return name
    if message.get("X-Auto-Response-Suppress") is not None and message.get("X-MS-Exchange-Inbox-Rules-Loop"):
        return "X-MS-Exchange-Inbox-Rules-Loop"
    subject = header_text(message, "Subject") or ""
    if VACATION_SUBJECT.match(subject):
        return "Subject: %s" % subject
    return None
