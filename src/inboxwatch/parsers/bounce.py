"""Email reports: bounces, complaints and auto-replies, from one message or an mbox.

One parser serves the three kinds because they arrive in the same mailbox
and only the content distinguishes them. Each message becomes:

- a `ComplaintRecord` when it is a feedback report (see `parsers.arf`),
- one `BounceRecord` per failed recipient when it is a delivery status
  notification (RFC 3464) or a non-standard bounce notice,
- an `AutoReplyRecord` when it is an RFC 3834 auto-reply or vacation notice.

Records carry their kind, and `sources.files` reports the first record's
kind as the kind of the input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from email.message import Message
from typing import BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.bounces import AutoReplyRecord
from inboxwatch.parsers.arf import complaint_record, is_complaint
from inboxwatch.parsers.autoreply import auto_reply_evidence
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject
from inboxwatch.parsers.bounce_records import bounce_records, forwarded_bounce, has_delivery_status, looks_like_bounce
from inboxwatch.parsers.mime import header_text, parse_message
from inboxwatch.parsers.returned import read_returned, returned_headers
from inboxwatch.parsers.sniffing import head_facts

log = logging.getLogger(__name__)

# Larger inputs are cut here: the notice and the returned headers come
# first, and a 50 MB attachment behind them adds nothing to classify.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]*:[ \t]?\S?")
MBOX_FROM_LINE = re.compile(rb"^From \S+ .*\d{4}\s*$", re.MULTILINE)
KNOWN_HEADERS = re.compile(
    rb"^(?:Return-Path|Received|Date|From|To|Subject|Message-ID|MIME-Version|Delivered-To|Content-Type|"
    rb"DKIM-Signature|Reply-To|Sender|Envelope-To|Delivery-Date|X-Original-To|Auto-Submitted):",
    re.IGNORECASE | re.MULTILINE,
)
# Report and bounce markers, matched against the lower-cased head: a
# case-sensitive search over it is several times faster than a
# case-insensitive one. The header markers count only at the start of a
# line: `REPORT_HEADERS` is matched at the start of the head and
# `REPORT_HEADER_LINES` searched for after each line end. Its literal "\n"
# prefix lets the search jump from line end to line end, several times
# faster than testing a MULTILINE "^" at every byte.
REPORT_PARTS = re.compile(rb"message/(?:delivery-status|feedback-report)|report-type=\"?(?:delivery-status|feedback-report)")
REPORT_HEADER_MARKERS = (
    rb"(?:from:[^\n]*(?:mailer-daemon|postmaster|mail delivery)|subject:[^\n]*(?:undeliver|delivery status|"
    rb"returned mail|failure notice|delivery fail|mail delivery|non.?delivery|auto(?:matic)?[- ]?reply|out of office)|"
    rb"auto-submitted:|x-failed-recipients:|x-autoreply:|x-hmxmroriginalrecipient:)"
)
REPORT_HEADERS = re.compile(REPORT_HEADER_MARKERS)
REPORT_HEADER_LINES = re.compile(rb"\n" + REPORT_HEADER_MARKERS)
# Every REPORT_PARTS match contains one of these. Finding neither is much
# faster than a regex search that fails.
REPORT_PART_LITERALS = (b"delivery-status", b"feedback-report")


def sniff(head: bytes, name: str) -> int:
    """Score an email message: high with report or bounce markers, low for other mail.

    Other mail (a DMARC report sent by email, for example) scores low so
    that a parser for that content wins.
    """
    start = head.lstrip(b"\r\n")
    # An email starts with a header field or an mbox "From " line. Testing
    # the first line before splitting the head rejects logs and JSON cheaply.
    if not start.startswith(b"From ") and not HEADER_LINE.match(start):
        return 0
    # Cut at the first LF blank line, then at the first CRLF blank line before
    # it, as two `split` calls would, without copying the rest of the head.
    first_block = start
    for blank_line in (b"\n\n", b"\r\n\r\n"):
        end = first_block.find(blank_line)
        if end >= 0:
            first_block = first_block[:end]
    lines = first_block.splitlines()
    if not lines:
        return 0
    if lines[0].startswith(b"From "):
        lines = lines[1:]
    if not lines or not HEADER_LINE.match(lines[0]):
        return 0
    # The first line is a header field, so one more makes the two required.
    if not any(HEADER_LINE.match(line) for line in lines[1:]) or not KNOWN_HEADERS.search(first_block):
        return 0
    lowered = head_facts(head).lowered
    if REPORT_HEADERS.match(lowered) or REPORT_HEADER_LINES.search(lowered):
        return 90
    if any(literal in lowered for literal in REPORT_PART_LITERALS) and REPORT_PARTS.search(lowered):
        return 90
    return 30


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox into messages at `From ` separator lines; a lone message stays whole."""
    if not data.startswith(b"From "):
        return [data]
    starts = [match.start() for match in MBOX_FROM_LINE.finditer(data)]
    starts = [start for start in starts if start == 0 or data[start - 2 : start] in (b"\n\n", b"\r\n")]
    if len(starts) < 2:
        return [data]
    bounds = starts + [len(data)]
    return [data[bounds[i] : bounds[i + 1]] for i in range(len(starts))]


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[object]:
    """Parse one email message, or an mbox of them, into records.

    In an mbox, a message that cannot be read becomes a `Rejected` item and
    the others are still parsed. A single unreadable message raises
    `ParseError`.
    """
    data = stream.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        log.warning("%s: message larger than %d bytes; reading only the start", context.source, MAX_MESSAGE_BYTES)
        data = data[:MAX_MESSAGE_BYTES]
    if not data.strip():
        raise ParseError("empty input: no email message", source=context.source)

    messages = split_mbox(data)
    for number, raw in enumerate(messages, start=1):
        try:
            message = parse_message(raw)
            yield from message_records(message)
        except ParseError as exc:
            if len(messages) == 1:
                raise
            yield reject(exc.message, raw[:2048], source=context.source, line=number)
        except (ValueError, LookupError, TypeError, AttributeError, IndexError) as exc:
            # A damaged MIME tree must cost only its own message.
            log.warning("%s: message %d could not be read: %s", context.source, number, exc, exc_info=True)
            if len(messages) == 1:
                raise ParseError("unreadable email message: %s" % exc, source=context.source) from exc
            yield reject("unreadable email message: %s" % exc, raw[:2048], source=context.source, line=number)


def message_records(message: Message) -> Iterator[object]:
    """Yield the records of one message, deciding its kind first."""
    if not message.keys():
        raise ParseError("not an email message: no header fields found")
    if is_complaint(message):
        yield complaint_record(message)
        return

    message = forwarded_bounce(message) or message
    if has_delivery_status(message) or looks_like_bounce(message):
        records = bounce_records(message)
        if records:
            yield from records
            return

    evidence = auto_reply_evidence(message)
    if evidence:
        returned = read_returned(returned_headers(message))
        yield AutoReplyRecord(
            sender=header_text(message, "From"),
            subject=header_text(message, "Subject"),
            evidence=evidence,
            original_message_id=returned.message_id or header_text(message, "In-Reply-To"),
        )
        return

    # Without bounce markers, only a notice whose text classifies as a
    # failure counts, so ordinary mail is not mistaken for a bounce.
    records = bounce_records(message)
    if any(record.reason not in ("undefined", "onhold") for record in records):
        yield from records
        return
    raise ParseError(
        "no bounce, complaint or auto-reply found: the message has no delivery-status "
        "or feedback-report part and names no failed recipient"
    )


PARSER = ParserSpec(
    kind="bounce",
    description="Email reports: bounces (RFC 3464 and non-standard), ARF complaints, auto-replies",
    sniff=sniff,
    parse=parse,
    other_kinds=("complaint", "auto-reply"),
)
