"""SparkPost webhooks: batches of `{"msys": {"<class>_event": {...}}}` objects.

Event classes are message_event, track_event, gen_event, unsubscribe_event
and relay_event, and the `type` inside decides the event. Bounces carry a
bounce class from SparkPost's "Bounce Classification Codes" table. Classes
10 and 30 are hard, 25 and 26 mean SparkPost itself refused to send, and 90
is an unsubscribe request. Classes 60, 80 and 100 are replies (auto-reply,
subscribe, challenge-response) that carry no delivery outcome. An
`[{"msys": {}}]` batch is the ping SparkPost sends when a webhook is created.
Message Events API pages (`{"results": [...]}` of flat events) read the same.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO, Iterator

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.parsers.esp_body import read_body
from inboxwatch.parsers.jsoninput import epoch_to_datetime, iso_to_datetime, sniff_json_head
from inboxwatch.parsers.smtpreply import bounce_fields, reply_fields
from inboxwatch.parsers.webhook import (
    domain_of,
    email_address,
    has_key,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "sparkpost"

SIMPLE_TYPES = {
    "injection": EventType.SENT,
    "delivery": EventType.DELIVERED,
    "delay": EventType.DEFERRED,
    "policy_rejection": EventType.DROPPED,
    "generation_failure": EventType.DROPPED,
    "generation_rejection": EventType.DROPPED,
    "spam_complaint": EventType.COMPLAINED,
    "open": EventType.OPENED,
    "initial_open": EventType.OPENED,
    "amp_open": EventType.OPENED,
    "amp_initial_open": EventType.OPENED,
    "click": EventType.CLICKED,
    "amp_click": EventType.CLICKED,
    "list_unsubscribe": EventType.UNSUBSCRIBED,
    "link_unsubscribe": EventType.UNSUBSCRIBED,
}
BOUNCE_TYPES = frozenset({"bounce", "out_of_band"})

# Inbound relay, SMS and A/B test events: no outbound email event.
NO_EVENT_TYPES = frozenset(
    {
        "relay_injection",
        "relay_rejection",
        "relay_delivery",
        "relay_tempfail",
        "relay_permfail",
        "sms_status",
        "ab_test_completed",
        "ab_test_cancelled",
    }
)

# Bounce class -> (event type, hard); hard None leaves it to the classifier.
BOUNCE_CLASSES: dict[int, tuple[EventType | None, bool | None]] = {
    1: (EventType.BOUNCED, None),  # Undetermined
    10: (EventType.BOUNCED, True),  # Invalid Recipient
    20: (EventType.BOUNCED, False),  # Soft Bounce
    21: (EventType.BOUNCED, False),  # DNS Failure
    22: (EventType.BOUNCED, False),  # Mailbox Full
    23: (EventType.BOUNCED, False),  # Too Large
    24: (EventType.BOUNCED, False),  # Timeout
    25: (EventType.DROPPED, None),  # Admin Failure: refused by SparkPost policy
    26: (EventType.DROPPED, None),  # Smart Send Suppression
    30: (EventType.BOUNCED, True),  # Generic Bounce: No RCPT
    40: (EventType.BOUNCED, False),  # Generic Bounce
    50: (EventType.BOUNCED, False),  # Mail Block
    51: (EventType.BOUNCED, False),  # Spam Block
    52: (EventType.BOUNCED, False),  # Spam Content
    53: (EventType.BOUNCED, False),  # Prohibited Attachment
    54: (EventType.BOUNCED, False),  # Relaying Denied
    60: (None, None),  # Auto-Reply
    70: (EventType.BOUNCED, False),  # Transient Failure
    80: (None, None),  # Subscribe request
    90: (EventType.UNSUBSCRIBED, None),  # Unsubscribe request
    100: (None, None),  # Challenge-Response
}


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if not text:
        return 0
    if has_key(text, "msys"):
        return 95
    if has_key(text, "transmission_id") or has_key(text, "rcpt_to"):
        return 80
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item, unwrap_events_page)


def unwrap_events_page(payload: Any) -> Any:
    """Return the events of a Message Events API page (`{"results": [...]}`), or the payload as it is."""
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return payload["results"]
    return payload


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    if "msys" not in item:
        if "type" in item:
            return read_event(item, context)
        raise missing_field("SparkPost", "msys")
    msys = item["msys"]
    if not isinstance(msys, dict):
        raise ParseError("SparkPost field msys is not a JSON object", field="msys")
    events = []
    for event_class, event in msys.items():
        if not isinstance(event, dict):
            raise ParseError("SparkPost %s is not a JSON object" % event_class, field="msys." + event_class)
        try:
            events.extend(read_event(event, context))
        except ParseError as exc:
            exc.field = "msys.%s.%s" % (event_class, exc.field) if exc.field else "msys." + event_class
            raise
    return events


def read_event(event: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    name = event.get("type")
    if name is None:
        raise missing_field("SparkPost", "type")
    if name in NO_EVENT_TYPES:
        return []
    reply_text = text_value(event.get("raw_reason")) or text_value(event.get("reason"))
    if name in BOUNCE_TYPES:
        event_type, hard = bounce_class_verdict(event.get("bounce_class"))
        if event_type is None:
            log.debug("SparkPost bounce class %s is a reply, not a delivery failure", event.get("bounce_class"))
            return []
        if event_type == EventType.BOUNCED:
            fields = bounce_fields(reply_text, code=event.get("error_code"), hard=hard)
        elif event_type == EventType.DROPPED:
            fields = reply_fields(reply_text, code=event.get("error_code"))
        else:
            fields = {}
    elif name in SIMPLE_TYPES:
        event_type = SIMPLE_TYPES[name]
        has_reply = event_type in (EventType.DEFERRED, EventType.DROPPED, EventType.DELIVERED)
        fields = reply_fields(reply_text, code=event.get("error_code")) if has_reply else {}
    else:
        raise unknown_type("SparkPost", "type", name, set(SIMPLE_TYPES) | BOUNCE_TYPES | NO_EVENT_TYPES)
    return [make_event(event, context, event_type, fields)]


def bounce_class_verdict(value: Any) -> tuple[EventType | None, bool | None]:
    try:
        bounce_class = int(value)
    except (TypeError, ValueError):
        return EventType.BOUNCED, None
    return BOUNCE_CLASSES.get(bounce_class, (EventType.BOUNCED, None))


def make_event(event: dict[str, Any], context: ParseContext, event_type: EventType, fields: dict[str, Any]) -> DeliveryEvent:
    sender = email_address(event.get("msg_from")) or email_address(event.get("friendly_from"))
    try:
        attempt = int(event["num_retries"]) + 1
    except (KeyError, TypeError, ValueError):
        attempt = None
    return DeliveryEvent(
        type=event_type,
        time=time_of(event.get("timestamp")),
        source=KIND,
        event_id=text_value(event.get("event_id")) or stable_event_id(event),
        recipient=email_address(event.get("rcpt_to")) or email_address(event.get("raw_rcpt_to")),
        sender=sender,
        message_id=text_value(event.get("message_id")),
        sending_ip=text_value(event.get("sending_ip")),
        sending_domain=domain_of(sender),
        tenant=context.tenant,
        campaign=text_value(event.get("campaign_id")),
        attempt=attempt,
        extra=extra_of(event),
        **fields,
    )


def time_of(value: Any):
    """Read a SparkPost timestamp: Unix seconds as text, or ISO 8601 in generation events."""
    return epoch_to_datetime(value) or iso_to_datetime(value)


def extra_of(event: dict[str, Any]) -> dict[str, Any]:
    keys = ("type", "bounce_class", "transmission_id", "ip_pool", "rcpt_tags", "rcpt_meta", "subaccount_id", "template_id", "target_link_url", "ip_address")
    extra = {key: event[key] for key in keys if event.get(key) not in (None, "", [], {})}
    if "ip_address" in extra:
        extra["reader_ip"] = extra.pop("ip_address")
    return extra


PARSER = ParserSpec(
    kind=KIND,
    description="SparkPost webhook batches (msys wrappers) and Events API pages",
    sniff=sniff,
    parse=parse,
)
