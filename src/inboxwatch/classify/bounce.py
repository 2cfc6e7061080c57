"""Bounce classification: from SMTP reply code, enhanced status code and text to a reason.

Reasons use the vocabulary Sisimai made common (userunknown, mailboxfull,
blocked, ...). The diagnostic text outranks the codes, because servers often
send a generic code with a precise text (`550 5.2.1 ... user unknown`). The
order of evidence is: a success code, a provider's own error code
(`inboxwatch.classify.provider_codes`), the text rules of
`inboxwatch.classify.bounce_patterns`, the DSN action (`delayed` means the
message expired), the enhanced status code, and last the SMTP reply code.

`hard` means the failure is permanent for that address: userunknown,
hostunknown and hasmoved always (even with a 4xx code, because the address
itself is wrong), and notaccept unless a 4xx code marks it as temporary.
"""

from __future__ import annotations

import dataclasses
import re

from inboxwatch.classify.bounce_patterns import GENERIC_STATUS_SUFFIXES, RULES, STATUS_REASONS
from inboxwatch.classify.provider_codes import CODE_TABLES

# Reasons that are permanent for the address itself.
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved"})

ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
WHITESPACE = re.compile(r"\s+")
# SMTP stages before any envelope command: the connection itself and HELO/EHLO.
CONNECTION_COMMANDS = frozenset({"CONN", "HELO", "EHLO"})
CONTINUATION_CODES = re.compile(r"(?<=\S) [245]\d\d(?:-(?:[245]\.\d{1,3}\.\d{1,3} )?| [245]\.\d{1,3}\.\d{1,3} )(?=\S)")

# Reasons by SMTP reply code, for texts no rule matches and no enhanced code.
# RFC 5321 section 4.2.3 defines the codes; the mapping is the usual reading.
REPLY_CODE_REASONS = {
    421: "blocked",
    451: "systemerror",
    452: "systemfull",
    500: "syntaxerror",
    501: "syntaxerror",
    502: "syntaxerror",
    503: "syntaxerror",
    504: "syntaxerror",
    521: "notaccept",
    530: "securityerror",
    551: "hasmoved",
    552: "mesgtoobig",
    553: "userunknown",
    556: "notaccept",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Classification:
    reason: str
    hard: bool
    status: str | None = None
    # What decided the reason: the text excerpt or code that matched, for `explain`.
    matched: str | None = None
    # Which rule decided: a pattern name, `status x.y.z`, `reply-code NNN` or `action`.
    rule: str | None = None


def find_enhanced_status(text: str | None) -> str | None:
    """Return the first RFC 3463 enhanced status code in `text`, if any."""
    if not text:
        return None
    match = ENHANCED_STATUS.search(text)
    return match.group(0) if match else None


def normalize_text(text: str | None) -> str:
    """Lower-case `text`, collapse whitespace and join multiline SMTP replies.

    A multiline reply repeats its codes on every line, as in `550-5.7.1 first
    part` followed by `550 5.7.1 rest` (RFC 5321 section 4.2.1). The repeats
    are removed so that a phrase split over two lines still matches.
    """
    if not text:
        return ""
    text = WHITESPACE.sub(" ", text).strip().lower()
    return CONTINUATION_CODES.sub(" ", text)


def is_generic_status(status: str | None) -> bool:
    """True for codes such as 5.0.0 that carry only the class (permanent or temporary)."""
    return not status or status[1:] in GENERIC_STATUS_SUFFIXES


def classify(
    smtp_code: int | None,
    enhanced_status: str | None,
    text: str | None,
    *,
    action: str | None = None,
    command: str | None = None,
) -> Classification:
    """Classify one delivery attempt for one recipient.

    `enhanced_status` falls back to the first code found in `text`. `action`
    is the RFC 3464 Action field, and `command` is the SMTP command that the
    reply was sent for (`CONN` for the greeting, `HELO`, `MAIL`, `RCPT`,
    `DATA`) when the notice names it.
    """
    status = enhanced_status or find_enhanced_status(text)
    if status and status.startswith("2."):
        return Classification("delivered", False, status, status, "status %s" % status)
    if not status and smtp_code and 200 <= smtp_code < 300 and not text:
        return Classification("delivered", False, None, str(smtp_code), "reply-code %d" % smtp_code)

    reason, matched, rule_name = match_provider_code(text)
    if reason is None:
        reason, matched, rule_name = match_text(text)
    if reason is None:
        reason, matched, rule_name = reason_from_codes(smtp_code, status, action, bool(normalize_text(text)))
    else:
        reason, rule_name = adjust_for_context(reason, rule_name, status, command)
    decided_by_code = bool(rule_name) and rule_name.startswith(("status ", "reply-code "))
    if command == "MAIL" and (
        decided_by_code or reason in ("userunknown", "hostunknown", "filtered", "syntaxerror", "undefined", "onhold")
    ):
        # A reply to MAIL FROM is about the sender, not the recipient. A
        # bare code adds nothing beyond the refusal of the sender.
        reason, rule_name = "rejected", "%s after MAIL" % (rule_name or "no rule")
    if command in CONNECTION_COMMANDS and reason in ("userunknown", "hostunknown", "undefined", "onhold"):
        # A server that refuses the connection or the greeting refuses the
        # sending host, whatever the wording.
        reason, rule_name = "blocked", "%s at connection" % (rule_name or "no rule")
    permanent = is_permanent(smtp_code, status)
    return Classification(reason, is_hard(reason, permanent), status, matched, rule_name)


def match_provider_code(text: str | None) -> tuple[str | None, str | None, str | None]:
    """Return (reason, matched code, table name) when `text` quotes a provider's own error code."""
    normalized = normalize_text(text)
    if not normalized:
        return None, None, None
    for table in CODE_TABLES:
        found = table.find(normalized)
        if found:
            return found[0], found[1], table.name
    return None, None, None


def match_text(text: str | None) -> tuple[str | None, str | None, str | None]:
    """Return (reason, matched excerpt, rule name) for the first text rule that matches."""
    normalized = normalize_text(text)
    if not normalized:
        return None, None, None
    for rule in RULES:
        found = rule.pattern.search(normalized)
        if found:
            return rule.reason, found.group(0), rule.name
    return None, None, None


def adjust_for_context(reason: str, rule_name: str | None, status: str | None, command: str | None) -> tuple[str, str | None]:
    """Correct a text match using the status code and the SMTP command.

    "User unknown" after DATA, with a filter
    or policy code (x.2.0, x.7.1), or with neither RCPT TO nor a specific
    code, is how content and recipient filters refuse mail (au/KDDI, many
    gateways) while the address exists.
    """
    if reason == "mesgtoobig" and status and status[1:] == ".2.3":
        # x.2.3 is "message length exceeds administrative limit" (RFC 3463).
        return "exceedlimit", "%s with status %s" % (rule_name, status)
    if reason == "userunknown" and rule_name == "user-unknown":
        if command == "DATA" and not (status and status[1:4] == ".1."):
            # An x.1.x code after DATA is a pipelined reply to RCPT TO.
            return "filtered", "%s after DATA" % rule_name
        if command != "RCPT" and (not status or status[1:] == ".0.0"):
            # Sisimai's reading, which the labelled corpus follows: "unknown
            # user" is trusted only with an x.1.x code or in reply to RCPT TO.
            # Otherwise gateways (McAfee, MXLogic, Courier) use it for mail
            # their filter refused.
            return "filtered", "%s without RCPT or x.1.x" % rule_name
        if status and status[1:] in (".2.0", ".7.1"):
            return "filtered", "%s with status %s" % (rule_name, status)
    return reason, rule_name


def reason_from_codes(
    smtp_code: int | None, status: str | None, action: str | None, has_text: bool = True
) -> tuple[str, str | None, str | None]:
    """Return (reason, matched code, rule name) from the codes when no text rule matched.

    `onhold` means the notice reports a failure but gives nothing to classify
    it by: no text, or only a generic x.0.0 code. `undefined` means that its
    text matched no rule.
    """
    if action and action.lower() in ("delayed", "expired"):
        # The DSN reports a message still or finally stuck in the queue.
        return "expired", action, "action"
    if status:
        reason = STATUS_REASONS.get(status) or STATUS_REASONS.get("x" + status[1:])
        if reason:
            return reason, status, "status %s" % status
    if status and status[1:] == ".0.0":
        # The code reports only "failed", so the reason is left for a person to judge.
        return "onhold", status, "status %s" % status
    if smtp_code in REPLY_CODE_REASONS:
        return REPLY_CODE_REASONS[smtp_code], str(smtp_code), "reply-code %d" % smtp_code
    if not has_text:
        return "onhold", None, None
    return "undefined", None, None


def is_hard(reason: str, permanent: bool | None) -> bool:
    """Decide whether `reason` is a permanent failure for the address.

    notaccept is hard unless the code is temporary (4xx), because a domain
    without mail service may come back. The other address errors are hard
    even with a 4xx reply.
    """
    if reason in HARD_REASONS:
        return True
    if reason == "notaccept":
        return permanent is not False
    return False


def is_permanent(smtp_code: int | None, enhanced_status: str | None) -> bool | None:
    """Return True for a 5xx failure, False for 4xx, None when neither code says."""
    if enhanced_status and enhanced_status[:1] in "45":
        return enhanced_status[0] == "5"
    if smtp_code:
        return smtp_code >= 500
    return None
