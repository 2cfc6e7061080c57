"""The Postfix correlation state machine: queue-file lifecycles and the events they produce.

One queue file's lines are scattered through the log: smtpd or pickup,
cleanup, qmgr, one line per delivery attempt, bounce, and qmgr "removed".
The parser therefore keeps a small record per open queue file, a
lifecycle, from its first line until "removed". A queue id is reused once
its file is removed, which is why state is keyed per lifecycle and dropped
at "removed".

Only deliveries to remote servers are events. Hops to content filters and
signers on this server, mailbox deliveries (lmtp, local, virtual, pipe),
SMTP-time rejections of inbound mail and routing failures without a remote
host are counted in `PostfixLogParser.counters` and logged at debug level,
never yielded. `docs/inputs/postfix.md` lists which line becomes which event.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

from inboxwatch.classify.bounce import classify
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext, reject
from inboxwatch.parsers.mta import BRACKETED_ADDRESS, is_internal_address, make_event_id
from inboxwatch.parsers.postfix_lines import (
    DELIVERY_AGENTS,
    MAILBOX_AGENTS,
    MESSAGE_ID,
    QMGR_EXPIRED_FROM,
    QMGR_FROM,
    PostfixLine,
    StatusLine,
    instance_address,
    is_null_mx,
    is_queue_id,
    parse_status,
    split_postfix_line,
)
from inboxwatch.parsers.syslog import TimestampReader, split_prefix

log = logging.getLogger(__name__)

KIND = "postfix"

# The maximum number of open lifecycles. A queue file normally lives for
# seconds and a deferred one up to maximal_queue_lifetime (5 days by
# default), so this is far beyond a normal queue. Past it the oldest is dropped.
MAX_OPEN_QUEUE_IDS = 50_000

STATUS_TYPES = {
    "sent": EventType.DELIVERED,
    "deferred": EventType.DEFERRED,
    "bounced": EventType.BOUNCED,
}

EXPIRED_REASON = "expired"

# Distinct (reply code, enhanced status, reply text) triples whose bounce
# classification is kept.
CLASSIFICATION_CACHE_SIZE = 4096


@lru_cache(maxsize=CLASSIFICATION_CACHE_SIZE)
def classify_bounce(smtp_code: int | None, enhanced_status: str | None, reply: str | None) -> tuple[bool, str]:
    """Return (hard, reason) for a bounce, cached because a bulk send repeats the same few replies."""
    classification = classify(smtp_code, enhanced_status, reply)
    return classification.hard, classification.reason


@dataclasses.dataclass(slots=True)
class Lifecycle:
    """The state of one queue file between its first line and "removed".

    `deferred` maps each recipient whose last outbound attempt was deferred
    to that attempt's status line, so that expiry can bounce exactly the
    recipients still queued.
    """

    queue_id: str
    sender: str | None = None
    message_id: str | None = None
    # Whether qmgr has queued the file ("from=..., nrcpt=..."), after which
    # a new smtpd, pickup or cleanup line for the id starts a new message.
    queued: bool = False
    # The queue id of the message this one reports on, when bounce(8)
    # created it as a delivery status notification.
    notification_for: str | None = None
    # The Postfix instance (syslog name) that made the outbound attempts.
    instance: str | None = None
    deferred: dict[str, StatusLine] = dataclasses.field(default_factory=dict)


class PostfixLogParser:
    """The correlating state machine: feed it lines in log order, then call `finish`.

    `feed` returns the items a line completes (events and `Rejected`), or
    None. A status line whose parenthesised reply is not closed is held
    until the next physical line shows whether it continues, because some
    log pipelines wrap long lines.
    """

    def __init__(self, context: ParseContext, max_open: int = MAX_OPEN_QUEUE_IDS) -> None:
        self.context = context
        self.max_open = max_open
        self.times = TimestampReader(context.reference_time, context.timezone)
        self.open: dict[str, Lifecycle] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self.pending_line: tuple[int, str] | None = None

    def feed(self, number: int, line: str) -> list[Any] | None:
        if self.pending_line is None:
            return self.handle_unless_wrapped(number, line, split_postfix_line(line))

        parts = split_postfix_line(line)
        pending_number, pending_text = self.pending_line
        self.pending_line = None
        if parts is None and split_prefix(line) is None and line.strip():
            self.counters["wrapped_lines"] += 1
            joined = pending_text + line
            return self.handle(pending_number, joined, split_postfix_line(joined))
        items = self.handle(pending_number, pending_text, split_postfix_line(pending_text)) or []
        items.extend(self.handle_unless_wrapped(number, line, parts) or ())
        return items

    def finish(self) -> list[Any]:
        """Complete a pending status line at the end of input and log what was not turned into events."""
        items: list[Any] = []
        if self.pending_line is not None:
            pending_number, pending_text = self.pending_line
            self.pending_line = None
            items = self.handle(pending_number, pending_text, split_postfix_line(pending_text)) or []
        if self.counters:
            log.debug("%s: lines not turned into events: %s", self.context.source, dict(self.counters))
        return items

    def handle_unless_wrapped(self, number: int, line: str, parts: PostfixLine | None) -> list[Any] | None:
        if parts is not None:
            body = parts.body
            if " status=" in body and not body.endswith(")") and body.count("(") > body.count(")"):
                self.pending_line = (number, line)
                return None
        return self.handle(number, line, parts)

    def handle(self, number: int, line: str, parts: PostfixLine | None) -> list[Any] | None:
        if parts is None:
            if line.strip():
                self.counters["unrecognised_lines"] += 1
            return None
        daemon = parts.daemon
        body = parts.body
        queue_id = parts.queue_id

        if daemon == "qmgr" and queue_id is not None:
            if body == "removed":
                return self.close(queue_id)
            if "nrcpt=" in body:
                self.note_queued(queue_id, body)
                return None
            if "status=expired" in body:
                return self.expire(number, line, parts)
        if daemon in DELIVERY_AGENTS and " status=" in body and ("to=" in body or queue_id and body.startswith("relay=")):
            return self.deliver(number, line, parts)
        if queue_id is None:
            if "reject:" in body:
                self.counters["inbound_rejections"] += 1
            return None
        if daemon == "cleanup":
            if body.startswith("message-id="):
                self.note_message_id(queue_id, body)
            elif "reject:" in body:
                self.counters["inbound_rejections"] += 1
        elif daemon == "smtpd":
            if body.startswith("client="):
                self.start(queue_id)
            elif "reject:" in body:
                self.counters["inbound_rejections"] += 1
        elif daemon == "pickup" and body.startswith("uid="):
            self.start(queue_id)
        elif daemon == "postsuper" and body == "removed":
            return self.close(queue_id)
        elif daemon == "bounce" and "notification: " in body:
            self.note_notification(queue_id, body)
        return None

    # Lifecycle bookkeeping.

    def lifecycle(self, queue_id: str) -> Lifecycle:
        current = self.open.get(queue_id)
        if current is None:
            current = self.open[queue_id] = Lifecycle(queue_id)
            if len(self.open) > self.max_open:
                oldest = next(iter(self.open))
                del self.open[oldest]
                self.counters["evicted_queue_ids"] += 1
                log.debug("%s: more than %d open queue ids, dropped the oldest: %s", self.context.source, self.max_open, oldest)
        return current

    def start(self, queue_id: str) -> None:
        """Begin a lifecycle at smtpd "client=" or pickup "uid=", replacing a stale one.

        A queue id already queued by qmgr that shows up at smtpd or pickup
        again belongs to a new message whose "removed" line was not logged.
        """
        current = self.open.get(queue_id)
        if current is not None and current.queued:
            del self.open[queue_id]
            self.counters["reused_queue_ids"] += 1
        self.lifecycle(queue_id)

    def note_message_id(self, queue_id: str, body: str) -> None:
        current = self.open.get(queue_id)
        if current is not None and current.queued:
            # cleanup runs before qmgr, so this is a new message under a reused id.
            del self.open[queue_id]
            self.counters["reused_queue_ids"] += 1
        match = MESSAGE_ID.match(body)
        self.lifecycle(queue_id).message_id = (match.group(1) or None) if match else None

    def note_notification(self, queue_id: str, body: str) -> None:
        """Link a DSN to its message: "sender non-delivery notification: NEWID" names the DSN's queue id."""
        self.counters["bounce_notifications"] += 1
        notification_id = body.rsplit(": ", 1)[1].strip()
        if notification_id.isalnum():
            self.lifecycle(notification_id).notification_for = queue_id

    def note_queued(self, queue_id: str, body: str) -> None:
        """Take the sender from qmgr's "from=<...>, size=..., nrcpt=..." line."""
        match = QMGR_FROM.match(body)
        if match is None:
            return
        current = self.lifecycle(queue_id)
        # qmgr logs "from=..., nrcpt=" again each time a deferred message
        # returns to the active queue; the first time is when it was queued.
        if not current.queued:
            current.sender = match.group(1)
            current.queued = True

    def close(self, queue_id: str) -> None:
        if self.open.pop(queue_id, None) is not None:
            self.counters["closed_queue_ids"] += 1
        return None

    # Events.

    def deliver(self, number: int, line: str, parts: PostfixLine) -> list[Any] | None:
        queue_id = parts.queue_id
        if queue_id is None or not is_queue_id(queue_id):
            return [self.reject("delivery status line without a queue id", line, number)]
        if parts.daemon in MAILBOX_AGENTS:
            # Checked before the fields are parsed, because on a server
            # that also receives mail these are many of the status lines.
            self.counters["mailbox_deliveries"] += 1
            return None
        status = parse_status(parts.body)
        if status is None:
            missing = [name for name in ("to=", "relay=", "status=") if name not in parts.body]
            problem = "missing field %s" % ", ".join(missing) if missing else "fields out of order or malformed"
            return [self.reject("delivery status line invalid (%s): expected to=<...>, relay=..., status=..." % problem, line, number)]
        event_type = STATUS_TYPES.get(status.status)
        if event_type is None:
            # Address verification probes (deliverable, undeliverable) and
            # similar: no message was delivered.
            self.counters["status_" + status.status] += 1
            return None
        skip_reason = self.internal_reason(parts.instance, status)
        if skip_reason is not None:
            self.counters[skip_reason] += 1
            return None

        time = self.times.read(parts.timestamp)
        if time is None:
            return [self.reject("timestamp %r is not a valid date and time" % parts.timestamp, line, number)]
        current = self.lifecycle(queue_id)
        # "postfix-out1/submission" runs a service of instance "postfix-out1".
        current.instance = parts.instance.split("/", 1)[0]
        items: list[Any] = []
        if event_type is EventType.DEFERRED:
            current.deferred[status.recipient] = status
        else:
            current.deferred.pop(status.recipient, None)
        items.append(self.delivery_event(event_type, current, status, time, line))
        return items

    def internal_reason(self, instance: str, status: StatusLine) -> str | None:
        """Return why an SMTP status line is not an outbound delivery, or None when it is one."""
        address = status.relay_ip
        if address is None:
            # relay=none: nothing was sent, unless the domain has a null MX
            # (RFC 7505) or the reply names the host that failed
            # ("delivery temporarily suspended: connect to mx[ip]:25 ...").
            if is_null_mx(status):
                return None
            named = BRACKETED_ADDRESS.search(status.reply) if status.reply else None
            if named is None:
                return "routing_failures"
            address = named.group(1)
        if is_internal_address(address, self.context.local_addresses):
            return "internal_hops"
        if address == instance_address(instance):
            return "internal_hops"
        return None

    def lifecycle_extra(self, current: Lifecycle) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if current.instance is not None:
            extra["instance"] = current.instance
        if current.notification_for is not None:
            extra["notification_for"] = current.notification_for
        return extra

    def delivery_event(
        self, event_type: EventType, current: Lifecycle, status: StatusLine, time: datetime | None, line: str
    ) -> DeliveryEvent:
        hard = reason = None
        if event_type is EventType.BOUNCED:
            hard, reason = classify_bounce(status.smtp_code, status.enhanced_status, status.reply)
        extra = self.lifecycle_extra(current)
        if status.original_recipient:
            extra["original_recipient"] = status.original_recipient
        return DeliveryEvent(
            type=event_type,
            time=time,
            source=KIND,
            event_id=make_event_id(KIND, event_type.value, status.recipient, line),
            recipient=status.recipient,
            sender=current.sender,
            message_id=current.message_id,
            queue_id=current.queue_id,
            relay_host=status.relay_host if status.relay_host != "none" else None,
            relay_ip=status.relay_ip,
            tenant=self.context.tenant,
            smtp_code=status.smtp_code,
            enhanced_status=status.enhanced_status,
            diagnostic=status.reply,
            bounce_reason=reason,
            hard=hard,
            extra=extra,
        )

    def expire(self, number: int, line: str, parts: PostfixLine) -> list[Any] | None:
        """Turn qmgr "status=expired, returned to sender" into one soft bounce per recipient still deferred."""
        queue_id = parts.queue_id
        current = self.open.get(queue_id) if queue_id else None
        if current is None or not current.deferred:
            # The deferrals happened before this log starts, or only went to
            # internal hops: no outbound recipient is known.
            self.counters["expired_without_known_recipients"] += 1
            return None
        match = QMGR_EXPIRED_FROM.match(parts.body)
        if match and current.sender is None:
            current.sender = match.group(1)
        time = self.times.read(parts.timestamp)
        if time is None:
            return [self.reject("timestamp %r is not a valid date and time" % parts.timestamp, line, number)]
        items: list[Any] = []
        for recipient, last in current.deferred.items():
            items.append(
                DeliveryEvent(
                    type=EventType.BOUNCED,
                    time=time,
                    source=KIND,
                    event_id=make_event_id(KIND, "expired", recipient, line),
                    recipient=recipient,
                    sender=current.sender,
                    message_id=current.message_id,
                    queue_id=current.queue_id,
                    relay_host=last.relay_host if last.relay_host != "none" else None,
                    relay_ip=last.relay_ip,
                    tenant=self.context.tenant,
                    diagnostic="expired, returned to sender; last attempt: %s" % (last.reply or last.status),
                    bounce_reason=EXPIRED_REASON,
                    hard=False,
                    extra=self.lifecycle_extra(current),
                )
            )
        current.deferred.clear()
        return items

    def reject(self, message: str, line: str, number: int) -> Rejected:
        self.counters["rejected_lines"] += 1
        return reject(message, line, source=self.context.source, line=number)
