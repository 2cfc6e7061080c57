"""Failed recipients from the human-readable text of a non-standard bounce.

Postfix, qmail, Exim, Sendmail, Courier, Gmail, Yahoo and many gateways send
plain-text notices instead of (or besides) RFC 3464 fields. They share a
shape: some preamble, then each failed address on its own line or at the
start of a line, followed by the remote server's reply, then a marker after
which the original message is quoted. This module finds that shape without
a module per MTA; a notice it cannot split yields one failure for the whole
text.
"""

from __future__ import annotations

import re

from inboxwatch.parsers.dsn import RecipientFailure, find_reply_code
from inboxwatch.parsers.mime import all_addresses

# Phrases that open the line after which a notice quotes the original
# message (qmail, Exim, Gmail, Sendmail, Exchange, Japanese and other
# providers).
ORIGINAL_MESSAGE_PHRASES = (
    r"below this line is a copy of the message|this is a copy of the message|"
    r"(?:the )?original message (?:follows|was received|headers?)|original message|returned message|"
    r"(?:start of )?(?:returned|original|undelivered|unsent) (?:mail|message|content)|"
    r"message headers? follows?|headers of (?:the )?original|a copy of the original message|"
    r"here is a copy of the first part of the message|the header of the original message|"
    r"original message header|"
    r"the following is the original message|"
    r"元のメッセージ|送信したメッセージ"
)
# The marker line: optionally a border of dashes, equals signs, stars or underscores, then a phrase.
ORIGINAL_MESSAGE_MARKER = re.compile(
    r"^[^\S\n]*(?:-{2,}|={2,}|\*{2,}|_{2,})?[^\S\n]*(?:%s)" % ORIGINAL_MESSAGE_PHRASES, re.IGNORECASE
)
HEADER_NAMES = r"(?:Return-Path|Received|Message-ID|Content-Type: message/rfc822):"
HEADER_START = re.compile("^" + HEADER_NAMES, re.IGNORECASE)
# Candidates for either line, for one search over a whole notice. The
# border is loosened to a character class, because an optional group before
# the phrases makes the search several times slower. `notice_body` checks
# each candidate line with the exact patterns above.
QUOTE_CANDIDATE = re.compile(
    r"^[ \t=*_-]*(?:%s|%s)" % (ORIGINAL_MESSAGE_PHRASES, HEADER_NAMES), re.IGNORECASE | re.MULTILINE
)

# Ways a notice puts a failed address at the start of a line.
RECIPIENT_LINE = (
    # Postfix, qmail, Courier: "<user@example.com>: reason" or "<user@example.com>:"
    re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>\s*(?::|\.\.\.)?\s*(.*)$"),
    # Sendmail V5 and transcripts: "554 <user@example.com>... Remote protocol error"
    re.compile(r"^\s*(?:<<< )?[45]\d\d[ -]<([^<>\s]+@[^<>\s]+)>\.\.\.\s*(.*)$"),
    # Sendmail: "user@example.com... User unknown"
    re.compile(r"^\s*([^<>\s:]+@[^<>\s:]+?)\.\.\.\s*(.*)$"),
    # Exim, Gmail, Yahoo: the address alone on an indented line
    re.compile(r"^\s*(?:(?:failed )?recipient(?: address)?:\s*)?([^<>\s:;,()]+@[^<>\s:;,()]+?)\s*:?\s*$", re.IGNORECASE),
    # Exchange 2000/2003: "user@example.com on Thu, 29 Apr 2007 16:51:51 -0500"
    re.compile(r"^\s*([^<>\s:;,()]+@[^<>\s:;,()]+?) on (?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4}()"),
    # qmail-like and gateways: "user@example.com: reason"
    re.compile(r"^\s*([^<>\s:;,()]+@[^<>\s:;,()]+?):\s+(\S.*)$"),
)
# Sendmail session transcripts: the command whose reply was the first error.
TRANSCRIPT_COMMAND = re.compile(r"^>>> (MAIL|RCPT|DATA|HELO|EHLO)\b.*\n(?:<<< [23]\d\d.*\n)*<<< [45]\d\d", re.IGNORECASE | re.MULTILINE)
RCPT_TO = re.compile(r"RCPT TO:\s*<?([^<>\s]+@[^<>\s]+?)>?(?:\s|$)", re.IGNORECASE)
REMOTE_HOST = re.compile(
    r"(?:remote host|host|server|mail server)\s+([A-Za-z0-9][A-Za-z0-9.\-]*\.[A-Za-z]{2,}|\[?\d{1,3}(?:\.\d{1,3}){3}\]?)",
    re.IGNORECASE,
)
SMTP_COMMAND = re.compile(
    r"\b(?:after|in reply to|response to|smtp command:?)\s+(?:end of data|(RCPT|MAIL|DATA|HELO|EHLO|RSET|STARTTLS)\b)"
    r"|-+smtp command (DATA|RCPT|MAIL)|(?:>>>|after) (HELO|EHLO)\b|after (initial connection|connection greeting)",
    re.IGNORECASE,
)

# Addresses that sign notices rather than fail in them.
ROLE_ADDRESS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|daemon|root|bounce[s]?|no-?reply)@", re.IGNORECASE)


def notice_body(text: str) -> str:
    """Return the notice up to the point where the original message is quoted.

    The first line never counts as the marker, because some notices open
    with a line such as "Returned mail: see transcript".
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    position = text.find("\n") + 1
    if position == 0:
        return text
    while True:
        found = QUOTE_CANDIDATE.search(text, position)
        if found is None:
            return text
        line_start = found.start()
        line_end = text.find("\n", found.end())
        line_end = len(text) if line_end < 0 else line_end
        line = text[line_start:line_end]
        if ORIGINAL_MESSAGE_MARKER.match(line) or HEADER_START.match(line):
            return text[: line_start - 1]
        position = line_end + 1


def find_failures(notice: str, excluded: set[str]) -> list[RecipientFailure]:
    """Split a notice into one failure per address it names.

    `excluded` contains lower-cased addresses that are not recipients, such as
    the envelope sender the notice is addressed to.
    """
    lines = notice.split("\n")
    starts: list[tuple[int, str, str]] = []
    for index, line in enumerate(lines):
        found = match_recipient_line(line)
        if found and found[0].lower() not in excluded and not ROLE_ADDRESS.match(found[0]):
            starts.append((index, found[0], found[1]))
    if not starts:
        found_rcpt = RCPT_TO.search(notice)
        if found_rcpt:
            return [build_failure(found_rcpt.group(1), notice)]
        return []

    # Every mention of an address ends the previous block. Notices in two
    # languages, and Sendmail's transcript, mention an address again, so the
    # blocks of one address are joined in order.
    blocks: dict[str, tuple[str, list[str]]] = {}
    for position, (index, address, rest) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        block = "\n".join([rest] + lines[index + 1 : end]).strip()
        blocks.setdefault(address.lower(), (address, []))[1].append(block)
    return [build_failure(address, "\n".join(texts)) for address, texts in blocks.values()]


def match_recipient_line(line: str) -> tuple[str, str] | None:
    for pattern in RECIPIENT_LINE:
        match = pattern.match(line)
        if match:
            address = match.group(1).strip(".\"'")
            rest = match.group(2) if pattern.groups > 1 else ""
            return address, rest
    return None


def build_failure(address: str, block: str) -> RecipientFailure:
    diagnostic = " ".join(block.split()) or None
    host = REMOTE_HOST.search(block)
    command = None
    transcript = TRANSCRIPT_COMMAND.search(block)
    if transcript:
        command = transcript.group(1).upper()
    else:
        mention = SMTP_COMMAND.search(block)
        if mention:
            command = command_name(mention)
    return RecipientFailure(
        recipient=address,
        smtp_code=find_reply_code(diagnostic),
        diagnostic=diagnostic,
        remote_mta=host.group(1).strip("[]") if host else None,
        command=command,
    )


def command_name(match: re.Match[str]) -> str:
    """Return the SMTP command an SMTP_COMMAND match names; "end of data" is DATA."""
    if match.group(4):
        return "CONN"
    name = match.group(1) or match.group(2) or match.group(3)
    return name.upper() if name else "DATA"


def any_recipient(notice: str, excluded: set[str]) -> str | None:
    """Return the first address in a notice that is neither excluded nor a role address."""
    for address in all_addresses(notice):
        if address.lower() not in excluded and not ROLE_ADDRESS.match(address):
            return address
    return None
