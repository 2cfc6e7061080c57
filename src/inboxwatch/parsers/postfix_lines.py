"""The grammar of single Postfix log messages, without correlation across lines.

The formats are those of Postfix 2.3 and later, which added the ``dsn=``
field. The field order is the one qmgr(8), smtp(8), lmtp(8), local(8),
virtual(8), pipe(8), error(8), discard(8), cleanup(8) and bounce(8) log.
These functions run once for each line that can matter, so each is a few
string searches or one precompiled regex.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple

from inboxwatch.parsers.syslog import is_rfc3164_timestamp, split_prefix

# Short queue ids are hexadecimal, at least 5 digits in practice. Long
# queue ids (enable_long_queue_ids, Postfix 2.9 and later) mix letters and
# digits without vowels and are at least 10 characters long.
QUEUE_ID = re.compile(r"[0-9A-F]{5,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}")

# An upper bound on a queue id's length, used to find it cheaply. It is an
# estimate with room to spare: long ids are about 15 characters, and some
# sites log hexadecimal ids of about 20.
MAX_QUEUE_ID_LENGTH = 24

# The delivery agents that log "to=<...>, relay=..., status=..." lines.
DELIVERY_AGENTS = frozenset({"smtp", "lmtp", "local", "virtual", "pipe", "error", "retry", "discard", "qmgr"})

# Agents that deliver into this server's own mailboxes or programs: their
# deliveries are never outbound, whatever host their relay field names.
MAILBOX_AGENTS = frozenset({"lmtp", "local", "virtual", "pipe", "discard"})

# The fields before "delay=" of a delivery status message. The rest is
# split with string searches, because regex scanning of the long reply text
# costs several times more.
STATUS_HEAD = re.compile(r"to=<?([^,>]*)>?, (?:orig_to=<?([^,>]*)>?, )?relay=([^,\s]+),")
# The whole status message in the field order Postfix 2.3 and later write,
# read in one pass: to, orig_to, relay, dsn, status, and the reply without
# its closing parenthesis. It matches only where `parse_status`'s general
# reading gives the same fields, so a message it does not match (missing
# angle brackets, a cut reply, other fields) goes the general way. The
# delay fields are spelled out so that no other " dsn=" or " status=" can
# come before the real ones.
CANONICAL_STATUS = re.compile(
    r"to=<([^,>]*)>, (?:orig_to=<([^,>]*)>, )?relay=([^,\s]+), (?:conn_use=\d+, )?"
    r"delay=[\d.]+, delays=[\d./]+, dsn=(\d\.\d{1,3}\.\d{1,3}), status=([0-9A-Za-z-]+)(?: \((.*)\))?$"
)
STATUS_FIELD = " status="
DSN_FIELD = re.compile(r" dsn=(\d\.\d{1,3}\.\d{1,3})")
QMGR_FROM = re.compile(r"from=<([^>]*)>, size=(\d+), nrcpt=(\d+)")
QMGR_EXPIRED_FROM = re.compile(r"from=<([^>]*)>")
MESSAGE_ID = re.compile(r"message-id=<?([^>\s]*)>?")
# An instance's syslog name such as "postfix-192.0.2.10": multi-instance
# setups often name each instance after the address it sends from.
INSTANCE_ADDRESS = re.compile(r"-([0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*)$")


class PostfixLine(NamedTuple):
    """One Postfix log line split into the parts the parser dispatches on.

    `queue_id` is None when the message does not start with one ("NOQUEUE",
    "warning", "connect from ..."); `body` is the message after it.
    """

    timestamp: str
    instance: str
    daemon: str
    queue_id: str | None
    body: str


class StatusLine(NamedTuple):
    """The fields of one delivery status message."""

    recipient: str
    original_recipient: str | None
    relay: str
    relay_host: str | None
    relay_ip: str | None
    relay_port: str | None
    enhanced_status: str | None
    status: str
    reply: str | None
    smtp_code: int | None


class Relay(NamedTuple):
    host: str | None
    ip: str | None
    port: str | None


def split_postfix_line(line: str) -> PostfixLine | None:
    """Split a Postfix syslog line, or return None when it is not one.

    The common RFC 3164 and ISO 8601 forms ("... postfix/qmgr[123]: ...")
    are split with string searches, which is several times faster than the
    general `split_prefix`; other forms fall back to it.
    """
    tag_end = line.find("]: ")
    program_start = line.rfind(" ", 0, tag_end) + 1 if tag_end > 0 else 0
    if program_start > 0 and (is_rfc3164_timestamp(line) or line[4:5] == "-"):
        bracket = line.rfind("[", program_start, tag_end)
        if bracket < 0:
            return None
        program = line[program_start:bracket]
        # The timestamp is everything before the host name.
        timestamp = line[: line.rfind(" ", 0, program_start - 1)]
        message = line[tag_end + 3 :]
    else:
        prefix = split_prefix(line)
        if prefix is None:
            return None
        program, timestamp, message = prefix.program, prefix.timestamp, prefix.message

    slash = program.rfind("/")
    if slash <= 0:
        return None
    colon = message.find(": ")
    if 0 < colon <= MAX_QUEUE_ID_LENGTH and message[:colon].isalnum() and message[:colon] != "NOQUEUE":
        return PostfixLine(timestamp, program[:slash], program[slash + 1 :], message[:colon], message[colon + 2 :])
    return PostfixLine(timestamp, program[:slash], program[slash + 1 :], None, message)


def is_queue_id(text: str) -> bool:
    return QUEUE_ID.fullmatch(text) is not None


@lru_cache(maxsize=256)
def instance_address(instance: str) -> str | None:
    """Return the IP address in an instance name like "postfix-192.0.2.10/...", if there is one."""
    head = instance.split("/", 1)[0]
    match = INSTANCE_ADDRESS.search(head)
    if match is None:
        return None
    try:
        return str(ipaddress.ip_address(match.group(1)))
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def parse_relay(relay: str) -> Relay:
    """Split "name[ip]:port" (or "none", "local", "private/dovecot-lmtp") into its parts."""
    open_at = relay.find("[")
    close_at = relay.find("]", open_at + 1)
    if open_at < 0 or close_at < 0:
        return Relay(relay, None, None)
    inside = relay[open_at + 1 : close_at]
    port = relay[close_at + 2 :] if relay.startswith(":", close_at + 1) else None
    # Unix-domain sockets appear in the brackets: "sub1.example.com[private/dovecot-lmtp]".
    ip = None if "/" in inside else inside
    return Relay(relay[:open_at] or None, ip, port)


def parse_status(rest: str) -> StatusLine | None:
    """Parse "to=<...>, relay=..., ..., status=... (reply)"; None when a field is missing.

    The reply in parentheses may lack its closing parenthesis when a log
    pipeline truncated the line.
    """
    canonical = CANONICAL_STATUS.match(rest)
    if canonical is not None:
        recipient, original, relay, enhanced_status, status, reply = canonical.groups()
        relay_parts = parse_relay(relay)
        return StatusLine(
            recipient,
            original or None,
            relay,
            relay_parts.host,
            relay_parts.ip,
            relay_parts.port,
            enhanced_status,
            status,
            reply,
            reply_code(reply),
        )
    return parse_status_fields(rest)


def parse_status_fields(rest: str) -> StatusLine | None:
    """Read a status message field by field: the general form of `parse_status`."""
    head = STATUS_HEAD.match(rest)
    if head is None:
        return None
    status_at = rest.find(STATUS_FIELD, head.end() - 1)
    if status_at < 0:
        return None
    status_start = status_at + len(STATUS_FIELD)
    status_end = rest.find(" ", status_start)
    if status_end < 0:
        status_end = len(rest)
    status = rest[status_start:status_end].rstrip()
    if not status.replace("-", "").isalnum():
        return None
    reply = None
    if rest.startswith(" (", status_end):
        reply = rest[status_end + 2 :].rstrip()
        if reply.endswith(")"):
            reply = reply[:-1]

    recipient, original, relay = head.groups()
    dsn = DSN_FIELD.search(rest, head.end() - 1, status_at + 1)
    relay_parts = parse_relay(relay)
    return StatusLine(
        recipient,
        original or None,
        relay,
        relay_parts.host,
        relay_parts.ip,
        relay_parts.port,
        dsn.group(1) if dsn else None,
        status,
        reply,
        reply_code(reply),
    )


def reply_code(reply: str | None) -> int | None:
    """Return the SMTP reply code quoted in a status line's parenthesised text.

    smtp(8) writes "host NAME[IP] said: 550 ...", and other agents may
    start the text with the code.
    """
    if not reply:
        return None
    marker_at = reply.find("said: ")
    start = marker_at + 6 if marker_at >= 0 else 0
    code = reply[start : start + 3]
    if code.isdigit() and code[0] in "2345" and reply[start + 3 : start + 4] in (" ", "-", ""):
        return int(code)
    return None


def is_null_mx(status: StatusLine) -> bool:
    """Return True for Postfix's null MX bounce (RFC 7505 section 4.1: "does not accept mail", 5.1.0 in practice)."""
    return bool(status.reply) and "does not accept mail" in status.reply  # type: ignore[operator]
