"""Exim main logs: delivery events from "=>", "->", "==" and "**" lines.

Exim writes one line per delivery outcome, keyed by message id, so there is
less to correlate than in Postfix. The parser still keeps a small record
per message until "Completed". It contains the sender and Message-ID from
the arrival ("<=") line, the hosts tried on lines without a flag, and the
recipients deferred to a remote host. The last lets a later "retry timeout
exceeded" be recognised as the end of a remote delivery.

Only deliveries to remote servers are events: local transports (appendfile,
pipe, autoreply, lmtp), SMTP to loopback or this server's own addresses,
router and filter outcomes without a transport, and routing failures are
counted in `EximLogParser.counters`, not yielded. `docs/inputs/exim.md`
lists which line becomes which event.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from inboxwatch.classify.bounce import classify, find_enhanced_status
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject, text_lines
from inboxwatch.parsers.mta import is_internal_address, make_event_id
from inboxwatch.parsers.sniffing import head_facts
from inboxwatch.parsers.syslog import HOST_AND_TAG, TimestampReader, split_prefix

log = logging.getLogger(__name__)

KIND = "exim"

# Open messages kept at most; past it the oldest is dropped (see postfix.py
# for the reasoning, which is the same).
MAX_OPEN_MESSAGES = 50_000

SNIFF_LINES = 50

# Exim's own timestamp (log_time_zone and millisecond log_selector options
# add the zone and the fraction).
EXIM_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3,6})?(?: [+-]\d{4})?) ")
# "exim[pid]: " as syslog writes Exim's program tag, also with a suffix such as "exim4".
EXIM_TAG = re.compile(r"(?:^|\s)exim[\w.-]*\[\d+\]: ")
PROCESS_ID = re.compile(r"\[\d+\] ")
# Message ids: 6-6-2 base-62 characters before Exim 4.97, 6-11-4 since.
MESSAGE_LINE = re.compile(r"([0-9A-Za-z]{6}-(?:[0-9A-Za-z]{11}-[0-9A-Za-z]{4}|[0-9A-Za-z]{6}-[0-9A-Za-z]{2}))(?: (.*))?$")
DELIVERY_FLAGS = frozenset({"=>", "->", "==", "**", "*>"})
ADDRESS = re.compile(r'(:blackhole:|"[^"]*"@[^\s:]+|[^\s:]+)(?: <([^>]*)>)?:? ?')
HOST_FIELD = re.compile(r"\bH=(\S+)(?: \[([^\]]+)\])?")
TRANSPORT_FIELD = re.compile(r"\bT=(\S+)")
ROUTER_FIELD = re.compile(r"\bR=(\S+)")
CONFIRMATION = re.compile(r'\bC="([^"]*)"')
ARRIVAL_FIELDS = re.compile(r"^(\S+)")
MESSAGE_ID_FIELD = re.compile(r"\bid=(\S+)")
REPLY_CODE = re.compile(r"(?:^|: )([2-5]\d\d)[ -]")
# Transport names that deliver on this server. Transports are named in the
# configuration, so this is a guess from the names Exim's default
# configuration and common distributions use.
LOCAL_TRANSPORT_WORDS = (
    "local", "appendfile", "pipe", "file", "lmtp", "autoreply", "address_", "maildir",
    "mailbox", "virtual", "savebounce", "dovecot", "procmail", "reply",
)  # fmt: skip
RETRY_TIMEOUT = "retry timeout exceeded"

FLAG_TYPES = {
    "=>": EventType.DELIVERED,
    "->": EventType.DELIVERED,
    "==": EventType.DEFERRED,
    "**": EventType.BOUNCED,
}


@dataclasses.dataclass(slots=True)
class Message:
    """The state of one message between its arrival and "Completed".

    `hosts_tried` contains the addresses named on flagless lines since the
    last delivery line, such as "H=mx.example.com [192.0.2.1] Network
    Error". A following "==" or "**" line without H= refers to them.
    `remote_deferred` contains the recipients deferred to a remote host.
    """

    message_id: str
    sender: str | None = None
    header_message_id: str | None = None
    hosts_tried: list[str] = dataclasses.field(default_factory=list)
    ever_remote: bool = False
    ever_internal: bool = False
    remote_deferred: set[str] = dataclasses.field(default_factory=set)


def split_line(line: str) -> tuple[str | None, str]:
    """Separate the timestamp, syslog prefix and [pid] from an Exim log message.

    Accepts a bare mainlog line, a syslog line ("Mmm dd ... host exim[pid]:
    message"), and the mixed forms fail2ban and rsyslog produce ("host
    exim[pid]: 2024-01-02 03:04:05 message", "2024-01-02 03:04:05 host
    exim[pid]: message").
    """
    timestamp = None
    rest = line
    match = EXIM_TIMESTAMP.match(rest)
    if match is not None:
        timestamp, rest = match.group(1), rest[match.end() :]
    else:
        prefix = split_prefix(rest)
        if prefix is not None:
            timestamp, rest = prefix.timestamp, prefix.message
    # The tag test is skipped for plain mainlog lines, most of a log, because
    # the regex is slow to fail on them.
    if "exim" in rest[:100]:
        tag = HOST_AND_TAG.match(rest)
        if tag is not None and tag.group(2).startswith("exim"):
            rest = rest[tag.end() :]
    if timestamp is None or rest[4:5] == "-" and rest[:4].isdigit():
        match = EXIM_TIMESTAMP.match(rest)
        if match is not None:
            timestamp, rest = match.group(1), rest[match.end() :]
    if rest.startswith("["):
        pid = PROCESS_ID.match(rest)
        if pid is not None:
            rest = rest[pid.end() :]
    return timestamp, rest


def host_address(host: re.Match[str]) -> str:
    """Return the address of an `HOST_FIELD` match: the bracketed IP, or the name when there is none."""
    if host.group(2):
        return host.group(2)
    name = host.group(1)
    if name.startswith("[") and "]" in name:
        return name[1 : name.index("]")]
    return name


def is_local_transport(transport: str) -> bool:
    name = transport.lower()
    return any(word in name for word in LOCAL_TRANSPORT_WORDS)


def reply_code(text: str) -> int | None:
    match = REPLY_CODE.search(text)
    return int(match.group(1)) if match else None


class EximLogParser:
    """Feed lines in log order; each call returns the items that line produced, or None."""

    def __init__(self, context: ParseContext, max_open: int = MAX_OPEN_MESSAGES) -> None:
        self.context = context
        self.max_open = max_open
        self.times = TimestampReader(context.reference_time, context.timezone)
        self.open: dict[str, Message] = {}
        self.counters: collections.Counter[str] = collections.Counter()

    def feed(self, number: int, line: str) -> list[Any] | None:
        timestamp, rest = split_line(line)
        # Message ids have a hyphen after six characters; most other lines fail this cheap test.
        match = MESSAGE_LINE.match(rest) if rest[6:7] == "-" else None
        if match is None:
            if line.strip():
                self.counters["other_lines"] += 1
            return None
        message_id, body = match.group(1), match.group(2) or ""
        flag = body[:2]
        if flag in DELIVERY_FLAGS and body[2:3] in (" ", ""):
            return self.deliver(number, line, timestamp, message_id, flag, body[3:])
        if flag == "<=":
            self.arrive(message_id, body[3:])
        elif body == "Completed":
            if self.open.pop(message_id, None) is not None:
                self.counters["completed_messages"] += 1
        elif "H=" in body:
            self.note_hosts(message_id, body)
        return None

    def finish(self) -> list[Any]:
        if self.counters:
            log.debug("%s: lines not turned into events: %s", self.context.source, dict(self.counters))
        return []

    # Message bookkeeping.

    def message(self, message_id: str) -> Message:
        current = self.open.get(message_id)
        if current is None:
            current = self.open[message_id] = Message(message_id)
            if len(self.open) > self.max_open:
                oldest = next(iter(self.open))
                del self.open[oldest]
                self.counters["evicted_messages"] += 1
                log.debug("%s: more than %d open messages, dropped the oldest: %s", self.context.source, self.max_open, oldest)
        return current

    def arrive(self, message_id: str, fields: str) -> None:
        current = self.message(message_id)
        sender = ARRIVAL_FIELDS.match(fields)
        current.sender = (sender.group(1) if sender else None) or None
        if current.sender == "<>":
            current.sender = ""
        header_id = MESSAGE_ID_FIELD.search(fields)
        current.header_message_id = header_id.group(1) if header_id else None

    def note_hosts(self, message_id: str, body: str) -> None:
        host = HOST_FIELD.search(body)
        if host is not None:
            self.message(message_id).hosts_tried.append(host_address(host))

    # Events.

    def deliver(
        self, number: int, line: str, timestamp: str | None, message_id: str, flag: str, rest: str
    ) -> list[Any] | None:
        address = ADDRESS.match(rest)
        if address is None or not address.group(1):
            return [self.reject("delivery line %r without an address" % flag, line, number)]
        event_type = FLAG_TYPES.get(flag)
        if event_type is None:
            # "*>": delivery suppressed by -N, nothing was sent.
            self.counters["suppressed_deliveries"] += 1
            return None
        recipient, original = address.group(1), address.group(2)
        fields = rest[address.end() :]
        current = self.message(message_id)
        tried, current.hosts_tried = current.hosts_tried, []

        host = HOST_FIELD.search(fields)
        transport = TRANSPORT_FIELD.search(fields)
        expired = event_type is EventType.BOUNCED and RETRY_TIMEOUT in fields
        skip_reason = self.internal_reason(
            current, recipient, host, transport, tried, expired, event_type is EventType.DELIVERED
        )
        if skip_reason is not None:
            self.counters[skip_reason] += 1
            return None

        time = self.times.read(timestamp) if timestamp else None
        if time is None:
            problem = "timestamp %r is not a valid date and time" % timestamp if timestamp else "line has no timestamp"
            return [self.reject(problem, line, number)]
        items: list[Any] = []
        if event_type is EventType.DEFERRED:
            current.remote_deferred.add(recipient)
        else:
            current.remote_deferred.discard(recipient)
        items.append(self.delivery_event(event_type, current, recipient, original, fields, host, transport, expired, time, line))
        return items

    def internal_reason(
        self,
        current: Message,
        recipient: str,
        host: re.Match[str] | None,
        transport: re.Match[str] | None,
        tried: list[str],
        expired: bool,
        delivered: bool,
    ) -> str | None:
        """Return why a delivery line is not an outbound delivery, or None when it is one."""
        if expired and transport is None:
            # "** addr: retry timeout exceeded" names no transport: it ends
            # the delivery whose deferrals came before.
            return None if recipient in current.remote_deferred else "local_expiries"
        if transport is None:
            return "router_outcomes"
        if "lmtp" in transport.group(1).lower():
            return "mailbox_deliveries"
        if host is not None:
            return self.judge_hosts(current, [host_address(host)])
        if delivered:
            # A delivery over SMTP always names its host; without one the
            # message went to a file, a pipe or a mailbox.
            return "mailbox_deliveries"
        if tried:
            return self.judge_hosts(current, tried)
        if is_local_transport(transport.group(1)):
            return "mailbox_deliveries"
        if current.ever_internal and not current.ever_remote:
            return "internal_hops"
        # An SMTP transport that made no connection: "retry time not reached
        # for any host", DANE lookup failures. The recipient is remote.
        return None

    def judge_hosts(self, current: Message, addresses: list[str]) -> str | None:
        remote = [a for a in addresses if not is_internal_address(a, self.context.local_addresses)]
        if remote:
            current.ever_remote = True
            return None
        current.ever_internal = True
        return "internal_hops"

    def delivery_event(
        self,
        event_type: EventType,
        current: Message,
        recipient: str,
        original: str | None,
        fields: str,
        host: re.Match[str] | None,
        transport: re.Match[str] | None,
        expired: bool,
        time: datetime | None,
        line: str,
    ) -> DeliveryEvent:
        confirmation = CONFIRMATION.search(fields)
        if event_type is EventType.DELIVERED:
            diagnostic = confirmation.group(1) if confirmation else None
        else:
            separator = fields.find(": ")
            diagnostic = fields[separator + 2 :] if separator >= 0 else fields.strip() or None
        smtp_code = reply_code(diagnostic) if diagnostic else None
        enhanced = find_enhanced_status(diagnostic)

        hard = reason = None
        if expired:
            hard, reason = False, "expired"
        elif event_type is EventType.BOUNCED:
            classification = classify(smtp_code, enhanced, diagnostic)
            hard, reason = classification.hard, classification.reason
        extra: dict[str, Any] = {}
        if original:
            extra["original_recipient"] = original
        if transport is not None:
            extra["transport"] = transport.group(1)
        router = ROUTER_FIELD.search(fields)
        if router is not None:
            extra["router"] = router.group(1)
        return DeliveryEvent(
            type=event_type,
            time=time,
            source=KIND,
            event_id=make_event_id(KIND, event_type.value, recipient, line),
            recipient=recipient,
            sender=current.sender,
            message_id=current.header_message_id,
            queue_id=current.message_id,
            relay_host=host.group(1) if host and not host.group(1).startswith("[") else None,
            relay_ip=host_address(host) if host and (host.group(2) or host.group(1).startswith("[")) else None,
            tenant=self.context.tenant,
            smtp_code=smtp_code,
            enhanced_status=enhanced,
            diagnostic=diagnostic,
            bounce_reason=reason,
            hard=hard,
            extra=extra,
        )

    def reject(self, message: str, line: str, number: int) -> Rejected:
        self.counters["rejected_lines"] += 1
        return reject(message, line, source=self.context.source, line=number)


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield delivery events and `Rejected` items from an Exim main log, in log order."""
    parser = EximLogParser(context)
    for number, line in text_lines(stream):
        items = parser.feed(number, line)
        if items:
            yield from items
    yield from parser.finish()


def sniff(head: bytes, name: str) -> int:
    """Score how much the first lines look like an Exim main log.

    Message lines ("<id> <= sender ...") are decisive. Other lines with
    Exim's timestamp or an "exim[pid]:" syslog tag (reject-only logs, as
    fail2ban reads them) score lower, because other programs share that
    timestamp form.
    """
    if not head_facts(head).may_be_log:
        return 0
    text = first_lines(head, SNIFF_LINES).decode("utf-8", errors="replace")
    message_lines = tagged_lines = stamped_lines = 0
    for line in text.splitlines()[:SNIFF_LINES]:
        # A message line or a timestamp contains "-", a tagged line "exim": skip lines with neither cheaply.
        if "-" not in line and "exim" not in line:
            continue
        if "exim" in line and EXIM_TAG.search(line):
            tagged_lines += 1
        timestamp, rest = split_line(line)
        match = MESSAGE_LINE.match(rest)
        if match is not None and (match.group(2) or "")[:2] in ("<=", "=>", "->", "==", "**", "(=", "*>", "Co"):
            message_lines += 1
        elif timestamp is not None and EXIM_TIMESTAMP.match(line):
            stamped_lines += 1
    if message_lines:
        return 90
    if tagged_lines:
        return 70
    if stamped_lines:
        return 30
    return 0


def first_lines(head: bytes, count: int) -> bytes:
    """Return the bytes of the first `count` lines of `head`, so that `sniff` decodes and splits only those."""
    end = -1
    for _ in range(count):
        end = head.find(b"\n", end + 1)
        if end < 0:
            return head
    return head[: end + 1]


PARSER = ParserSpec(
    kind=KIND,
    description="Exim main log: outbound delivery events per recipient",
    sniff=sniff,
    parse=parse,
    yields_events_only=True,
)
