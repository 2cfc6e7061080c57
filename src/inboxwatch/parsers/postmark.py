"""Postmark webhooks: one JSON object per request, distinguished by `RecordType`.

Record types are Delivery, Bounce, SpamComplaint, Open, Click and
SubscriptionChange. A Bounce record's
`Type` is Postmark's verdict: only HardBounce (and BadEmailAddress, which
Postmark rejects before sending) are permanent for the address. Some bounce
types are not delivery failures at all: Unsubscribe is a removal request,
and auto-replies, subscribe and address-change requests carry no event.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO, Iterator

from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.parsers.esp_body import read_body
from inboxwatch.parsers.jsoninput import iso_to_datetime, sniff_json_head
from inboxwatch.parsers.smtpreply import bounce_fields, reply_fields
from inboxwatch.parsers.webhook import (
    email_address,
    has_key,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "postmark"

# Bounce `Type` -> (event type, hard). `hard` None leaves the verdict to the
# classifier. The names are those of the BounceType enum in the official
# Node.js client, postmark 4.0.2.
BOUNCE_TYPES: dict[str, tuple[EventType | None, bool | None]] = {
    "HardBounce": (EventType.BOUNCED, True),
    "Transient": (EventType.BOUNCED, False),
    "SoftBounce": (EventType.BOUNCED, False),
    "DnsError": (EventType.BOUNCED, False),
    "SpamNotification": (EventType.BOUNCED, False),
    "VirusNotification": (EventType.BOUNCED, False),
    "Blocked": (EventType.BOUNCED, False),
    "DMARCPolicy": (EventType.BOUNCED, False),
    "Unknown": (EventType.BOUNCED, None),
    # Postmark refused to send these.
    "BadEmailAddress": (EventType.DROPPED, None),
    "ManuallyDeactivated": (EventType.DROPPED, None),
    "Unconfirmed": (EventType.DROPPED, None),
    "SMTPApiError": (EventType.DROPPED, None),
    "TemplateRenderingFailed": (EventType.DROPPED, None),
    "SpamComplaint": (EventType.COMPLAINED, None),
    "Unsubscribe": (EventType.UNSUBSCRIBED, None),
    # Replies and requests that carry no delivery outcome.
    "AutoResponder": (None, None),
    "Subscribe": (None, None),
    "AddressChange": (None, None),
    "ChallengeVerification": (None, None),
    "OpenRelayTest": (None, None),
    "InboundError": (None, None),
}

# RecordType -> (event type, field with the recipient, field with the time).
SIMPLE_RECORDS = {
    "Delivery": (EventType.DELIVERED, "Recipient", "DeliveredAt"),
    "SpamComplaint": (EventType.COMPLAINED, "Email", "BouncedAt"),
    "Open": (EventType.OPENED, "Recipient", "ReceivedAt"),
    "Click": (EventType.CLICKED, "Recipient", "ReceivedAt"),
}
RECORD_TYPES = set(SIMPLE_RECORDS) | {"Bounce", "SubscriptionChange"}

# The SubscriptionChange origin that means the recipient asked to stop.
RECIPIENT_ORIGIN = "Recipient"


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if text and has_key(text, "RecordType"):
        return 90
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item)


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    record_type = item.get("RecordType")
    if record_type is None:
        raise missing_field("Postmark", "RecordType")
    if record_type == "Bounce":
        return read_bounce(item, context)
    if record_type == "SubscriptionChange":
        return read_subscription_change(item, context)
    if record_type not in SIMPLE_RECORDS:
        raise unknown_type("Postmark", "RecordType", record_type, RECORD_TYPES)
    event_type, recipient_field, time_field = SIMPLE_RECORDS[record_type]
    fields = reply_fields(item.get("Details")) if event_type == EventType.DELIVERED else {}
    return [make_event(item, context, event_type, item.get(recipient_field), item.get(time_field), **fields)]


def read_bounce(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    bounce_type = item.get("Type")
    if bounce_type not in BOUNCE_TYPES:
        # A bounce type added after this table is still a bounce; the classifier judges it.
        log.info("Postmark bounce type %r is not known; classifying it from the details", bounce_type)
    event_type, hard = BOUNCE_TYPES.get(bounce_type, (EventType.BOUNCED, None))
    if event_type is None:
        log.debug("Postmark bounce type %s is not a delivery event", bounce_type)
        return []
    details = item.get("Details") or item.get("Description")
    if event_type == EventType.BOUNCED:
        fields = bounce_fields(details, hard=hard)
    elif event_type == EventType.DROPPED:
        fields = reply_fields(details)
    else:
        fields = {}
    return [make_event(item, context, event_type, item.get("Email"), item.get("BouncedAt"), **fields)]


def read_subscription_change(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    """Emit unsubscribed when the recipient suppressed their own address.

    A suppression for a hard bounce or a spam complaint repeats an event that
    Postmark already sent as a Bounce or SpamComplaint record, and a
    reactivation (SuppressSending false) is no delivery event.
    """
    if item.get("SuppressSending") is not True:
        return []
    if item.get("SuppressionReason") != "ManualSuppression" or item.get("Origin") != RECIPIENT_ORIGIN:
        return []
    return [make_event(item, context, EventType.UNSUBSCRIBED, item.get("Recipient"), item.get("ChangedAt"))]


def make_event(
    item: dict[str, Any], context: ParseContext, event_type: EventType, recipient: Any, time: Any, **fields: Any
) -> DeliveryEvent:
    address = email_address(recipient)
    record_id = text_value(item.get("ID"))
    extra = {key: item[key] for key in ("Type", "TypeCode", "MessageStream", "Metadata", "OriginalLink", "FirstOpen") if item.get(key) not in (None, "", {})}
    return DeliveryEvent(
        type=event_type,
        time=iso_to_datetime(time),
        source=KIND,
        event_id="%s:%s" % (item.get("RecordType"), record_id) if record_id else stable_event_id(item),
        recipient=address,
        sender=email_address(item.get("From")),
        message_id=text_value(item.get("MessageID")),
        tenant=context.tenant,
        campaign=text_value(item.get("Tag")),
        extra=extra,
        **fields,
    )


PARSER = ParserSpec(
    kind=KIND,
    description="Postmark webhooks (Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange)",
    sniff=sniff,
    parse=parse,
)
