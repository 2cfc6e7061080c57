"""From a bounce message to one classified `BounceRecord` per recipient.

RFC 3464 fields are preferred where the message has them. The notice text
fills in a missing diagnostic, and `parsers.bounce_text` splits a notice
that has no fields.
"""

from __future__ import annotations

import dataclasses
import re
from email.message import Message

from inboxwatch.classify.bounce import (
    ENHANCED_STATUS,
    Classification,
    classify,
    find_enhanced_status,
    is_generic_status,
    is_hard,
    normalize_text,
)
from inboxwatch.classify.bounce_patterns import NOTICE_RULES, RECIPIENT_DOMAIN_REASONS, RULES_BY_NAME
from inboxwatch.model.bounces import BounceRecord
from inboxwatch.parsers.bounce_text import any_recipient, find_failures, notice_body
from inboxwatch.parsers.dsn import RecipientFailure, field_blocks, find_reply_code, recipient_failures
from inboxwatch.parsers.mime import all_addresses, first_address, header_text, parse_message, part_text, typed_leaves
from inboxwatch.parsers.returned import ReturnedMessage, read_returned, returned_headers

DELIVERY_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
BOUNCE_SENDER = re.compile(r"mailer-daemon|postmaster|mail delivery|mail-daemon|mdaemon|deliverynotification", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|fail|notification|report|problem)|returned mail|failure notice|"
    r"mail delivery|non.?delivery|could not be delivered|delivery has failed|returned to sender|"
    r"not delivered|rejected|mail error|failed delivery|warning: could not send|"
    r"配信(?:不能|エラー)|不達|エラー|unzustellbar|non remis|no entregado",
    re.IGNORECASE,
)
TAG = re.compile(r"<[^>]+>")
SES_DIAGNOSTIC = re.compile(r"^\s*[245]\.\d{1,3}\.\d{1,3} - [^']*?[245]\d\d[- ]'(.+)'", re.DOTALL)
# RCPT as an SMTP command, not inside a header or host name that contains
# it (Original-Rcpt-To, rcpt-gw.example.jp).
RCPT_MENTION = re.compile(r"(?<![-\w])RCPT(?![-\w])", re.IGNORECASE)
SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
# Characters of each text part read as notice text. Notices are a few KiB,
# even with a transcript. A large text attachment (a returned log file, for
# example) would otherwise cost minutes of pattern matching per message.
MAX_NOTICE_PART_CHARS = 64 * 1024
EMBEDDED_REPORT = re.compile(r"^Content-Type:\s*multipart/report", re.IGNORECASE | re.MULTILINE)
# The first line of a message quoted in a text body: an mbox separator or a trace header.
EMBEDDED_MESSAGE_START = re.compile(r"^(?:From \S+ +\S.*\d{4}\s*$|Return-Path:|Received:)", re.MULTILINE)


def has_delivery_status(message: Message) -> bool:
    return any(content_type in DELIVERY_STATUS_TYPES for content_type, _ in typed_leaves(message))


def forwarded_bounce(message: Message) -> Message | None:
    """Return a DSN attached as message/rfc822 to a message that is not one itself.

    Gateways and people forward bounces; the attached notice is the report.
    """
    if has_delivery_status(message):
        return None
    for content_type, part in typed_leaves(message):
        if content_type != "message/rfc822":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            if has_delivery_status(payload[0]):
                return payload[0]
    return inline_forwarded_bounce(message)


def inline_forwarded_bounce(message: Message) -> Message | None:
    """Return a DSN quoted whole in the text body of a single-part message.

    Mail administrators forward bounces as plain text, the quoted message
    starting at its mbox `From ` line or first header line (OCN's notices
    to its customers do this).
    """
    if message.is_multipart():
        return None
    body = part_text(message)
    report = EMBEDDED_REPORT.search(body)
    if report is None:
        return None
    starts = [match.start() for match in EMBEDDED_MESSAGE_START.finditer(body, 0, report.start())]
    if not starts:
        return None
    embedded = parse_message(body[starts[0] :].encode("utf-8", errors="surrogateescape"))
    return embedded if has_delivery_status(embedded) else None


def looks_like_bounce(message: Message) -> bool:
    """True when the sender, subject or headers mark the message as a bounce notice."""
    if message.get("X-Failed-Recipients"):
        return True
    sender = header_text(message, "From") or ""
    subject = header_text(message, "Subject") or ""
    return bool(BOUNCE_SENDER.search(sender) or BOUNCE_SUBJECT.search(subject))


def notice_text(message: Message) -> str:
    """Return the human-readable text of a notice, outside any returned message."""
    plain, html = [], []
    for content_type, part in typed_leaves(message):
        if content_type == "message/rfc822" or content_type in DELIVERY_STATUS_TYPES:
            continue
        if content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            continue
        if content_type == "text/html":
            html.append(TAG.sub(" ", part_text(part)[:MAX_NOTICE_PART_CHARS]))
        elif content_type.startswith("text/") or not message.is_multipart():
            plain.append(part_text(part)[:MAX_NOTICE_PART_CHARS])
    return "\n".join(plain or html)


def delivery_status_blocks(message: Message) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for content_type, part in typed_leaves(message):
        if content_type not in DELIVERY_STATUS_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            # The stdlib parser splits the body into one Message per block;
            # rejoin them so `field_blocks` applies the same splitting rules.
            text = "\n\n".join(
                "\n".join("%s: %s" % (key, " ".join(str(value).split())) for key, value in item.items())
                for item in payload
                if isinstance(item, Message)
            )
            blocks.extend(field_blocks(text))
        else:
            blocks.extend(field_blocks(part_text(part)))
    return blocks


def bounce_records(message: Message) -> list[BounceRecord]:
    """Build the records of a bounce message; an empty list when it names no recipient."""
    text = notice_text(message)
    body = notice_body(text)
    returned = read_returned(returned_headers(message, text))
    blocks = delivery_status_blocks(message)
    reporting_mta = next((block["reporting-mta"] for block in blocks if "reporting-mta" in block), None)
    arrival_date = next((block["arrival-date"] for block in blocks if "arrival-date" in block), None)

    excluded = excluded_addresses(message, returned)
    failures = recipient_failures(blocks)
    text_failures = find_failures(body, excluded)
    if failures:
        fill_from_text(failures, text_failures, body)
        format_name = "rfc3464"
    else:
        failures = declared_failures(message, text_failures, body) or text_failures
        failures = failures or fallback_failures(message, body, returned, excluded)
        format_name = "text"

    # A notice that mentions RCPT TO anywhere reports replies to it.
    notice_command = "RCPT" if RCPT_MENTION.search(body) else None
    date = header_text(message, "Date")
    notice_classification = classify_notice(body)
    records = []
    for failure in failures:
        failure.command = failure.command or notice_command
        classification = classify_failure(failure, body)
        if notice_classification is not None:
            classification = dataclasses.replace(notice_classification, status=classification.status)
        records.append(
            BounceRecord(
                recipient=failure.recipient,
                reason=classification.reason,
                hard=classification.hard,
                status=classification.status,
                smtp_code=failure.smtp_code,
                diagnostic=failure.diagnostic,
                remote_mta=failure.remote_mta,
                reporting_mta=strip_dsn_type(reporting_mta),
                action=failure.action,
                arrival_date=arrival_date,
                sender=returned.sender,
                original_message_id=returned.message_id,
                campaign=returned.campaign,
                tenant=returned.tenant,
                format=format_name,
                rule=classification.rule,
                matched=classification.matched,
                date=date,
            )
        )
    return records


def classify_failure(failure: RecipientFailure, notice: str) -> Classification:
    """Classify one failure, preferring its own diagnostic over the whole notice.

    A code quoted in the diagnostic wins over the Status field, because the
    field is often the reporting MTA's summary while the diagnostic is the
    remote server's own reply. The last quoted code is the innermost reply.
    """
    status = failure.status
    quoted = last_enhanced_status(failure.diagnostic)
    if quoted:
        status = quoted
    if failure.action in SUCCESS_ACTIONS and (status is None or status.startswith("2.")):
        return Classification("delivered", False, status, failure.action, "action")
    domain_reason = RECIPIENT_DOMAIN_REASONS.get((failure.recipient or "").rpartition("@")[2].lower())
    if domain_reason and is_generic_status(status):
        return Classification(domain_reason, False, status, failure.recipient, "recipient-domain")
    text = remote_reply(failure.diagnostic)
    if text is not failure.diagnostic:
        # Amazon SES: its own summary code carries no information about the
        # remote reply, so the reply is classified with its own code.
        result = classify(
            failure.smtp_code, find_enhanced_status(text), text, action=failure.action, command=failure.command
        )
        result = dataclasses.replace(result, status=status or result.status)
    else:
        result = classify(failure.smtp_code, status, text, action=failure.action, command=failure.command)
    if failure.diagnostic_type == "x-unix" and (result.rule or "").split(" ")[0] not in RULES_BY_NAME:
        # RFC 3464 X-Unix diagnostics come from a local delivery program
        # (Sendmail prog mailer, Postfix pipe), often a bare sysexits code.
        return Classification("mailererror", False, status, failure.diagnostic, "diagnostic-type x-unix")
    if result.reason in ("undefined", "onhold") and notice:
        fallback = classify(
            failure.smtp_code, status or find_enhanced_status(notice), notice, action=failure.action, command=failure.command
        )
        if fallback.reason not in ("undefined", "onhold"):
            return fallback
    return result


def classify_notice(body: str) -> Classification | None:
    """Return the classification that a notice states for all its recipients, if it states one."""
    normalized = normalize_text(body)
    for item in NOTICE_RULES:
        found = item.pattern.search(normalized)
        if found:
            return Classification(item.reason, is_hard(item.reason, None), None, found.group(0), item.name)
    return None


def remote_reply(diagnostic: str | None) -> str | None:
    """Return the remote server's own reply inside an Amazon SES diagnostic, or the diagnostic.

    SES writes "5.1.0 - Unknown address error 550-'<remote reply>'" and its
    own category words would otherwise decide the reason.
    """
    if not diagnostic:
        return diagnostic
    match = SES_DIAGNOSTIC.match(diagnostic)
    return match.group(1) if match else diagnostic


def last_enhanced_status(text: str | None) -> str | None:
    if not text:
        return None
    codes = ENHANCED_STATUS.findall(text)
    if not codes:
        return None
    return ".".join(codes[-1])


def fill_from_text(failures: list[RecipientFailure], text_failures: list[RecipientFailure], body: str) -> None:
    """Give DSN recipients without Diagnostic-Code the reply that the notice text quotes."""
    by_address = {item.recipient.lower(): item for item in text_failures if item.recipient}
    for failure in failures:
        if failure.diagnostic:
            continue
        match = by_address.get((failure.recipient or "").lower())
        if match is None and len(text_failures) == 1:
            match = text_failures[0]
        if match is not None:
            failure.diagnostic = match.diagnostic
            failure.smtp_code = failure.smtp_code or match.smtp_code
            failure.remote_mta = failure.remote_mta or match.remote_mta
    for failure in failures:
        match = by_address.get((failure.recipient or "").lower())
        if match is not None and failure.command is None:
            failure.command = match.command


def declared_failures(message: Message, text_failures: list[RecipientFailure], body: str) -> list[RecipientFailure]:
    """Build failures for the addresses in X-Failed-Recipients (Exim, Gmail), when present.

    The header is the sender's own list of failed addresses, so it wins over
    addresses guessed from the text; the text still supplies each diagnostic.
    """
    header = header_text(message, "X-Failed-Recipients")
    if not header:
        return []
    by_address = {item.recipient.lower(): item for item in text_failures if item.recipient}
    failures = []
    for address in all_addresses(header):
        found = by_address.get(address.lower())
        if found is None:
            diagnostic = " ".join(body.split()) or None
            found = RecipientFailure(recipient=address, diagnostic=diagnostic, smtp_code=find_reply_code(diagnostic))
        failures.append(found)
    return failures


def fallback_failures(
    message: Message, body: str, returned: ReturnedMessage, excluded: set[str]
) -> list[RecipientFailure]:
    """Build one failure for the whole notice when it names no recipient line by line."""
    recipient = first_address(header_text(message, "X-Failed-Recipients"))
    recipient = recipient or any_recipient(body, excluded) or first_address(returned.recipient)
    diagnostic = " ".join(body.split())
    if recipient is None and not diagnostic:
        return []
    return [RecipientFailure(recipient=recipient, diagnostic=diagnostic or None, smtp_code=find_reply_code(diagnostic))]


def excluded_addresses(message: Message, returned: ReturnedMessage) -> set[str]:
    """Addresses in a notice that are not failed recipients: the notice's own parties and the original sender."""
    excluded = set()
    for value in (header_text(message, "To"), header_text(message, "From"), returned.sender):
        address = first_address(value)
        if address:
            excluded.add(address.lower())
    return excluded


def strip_dsn_type(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(";", 1)[-1].strip() or None
