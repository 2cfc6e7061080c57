"""SendGrid Event Webhook: JSON arrays of delivery and engagement events.

A `bounce` with `type` "blocked" is a block by the receiving server for
reputation or policy, so it is soft. A `bounce` of type "bounce" is
SendGrid's permanent bounce, so it is hard, and so is a `bounce` with no
type, as older payloads send it. `dropped` means SendGrid never sent the message (suppressed, invalid or
unsubscribed address).
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO, Iterator

from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.parsers.esp_body import read_body
from inboxwatch.parsers.jsoninput import epoch_to_datetime, sniff_json_head
from inboxwatch.parsers.smtpreply import bounce_fields, reply_fields
from inboxwatch.parsers.webhook import (
    email_address,
    has_key,
    is_signing_material,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "sendgrid"

EVENT_TYPES = {
    "processed": EventType.SENT,
    "dropped": EventType.DROPPED,
    "delivered": EventType.DELIVERED,
    "deferred": EventType.DEFERRED,
    "bounce": EventType.BOUNCED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "spamreport": EventType.COMPLAINED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
}

# A recipient joining an unsubscribe group again is not a delivery event.
NO_EVENT_TYPES = frozenset({"group_resubscribe"})

# Events whose `ip` is SendGrid's sending IP. On opens and clicks it is the reader's IP.
SENDING_IP_EVENTS = frozenset({EventType.SENT, EventType.DROPPED, EventType.DELIVERED, EventType.DEFERRED, EventType.BOUNCED})

# The header that carries SendGrid's webhook signature. Signing test vectors name it.
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if not text:
        return 0
    if has_key(text, "sg_event_id") or has_key(text, "sg_message_id"):
        return 90
    if has_key(text, "event") and has_key(text, "email") and has_key(text, "timestamp"):
        return 60
    if SIGNATURE_HEADER in text:
        return 50
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item)


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    name = item.get("event")
    if name is None:
        if is_signing_material(item):
            log.info("SendGrid signing test vector carries no event")
            return []
        raise missing_field("SendGrid", "event")
    # SendGrid sends lower case; its docs also show "Processed".
    name = str(name).lower()
    if name in NO_EVENT_TYPES:
        return []
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        raise unknown_type("SendGrid", "event", item.get("event"), set(EVENT_TYPES) | NO_EVENT_TYPES)
    recipient = email_address(item.get("email"))
    if recipient is None:
        raise missing_field("SendGrid", "email")

    return [
        DeliveryEvent(
            type=event_type,
            time=epoch_to_datetime(item.get("timestamp")),
            source=KIND,
            event_id=text_value(item.get("sg_event_id")) or stable_event_id(item),
            recipient=recipient,
            message_id=message_id_of(item),
            sending_ip=text_value(item.get("ip")) if event_type in SENDING_IP_EVENTS else None,
            tenant=context.tenant,
            campaign=campaign_of(item),
            attempt=attempt_of(item),
            extra=extra_of(item, event_type),
            **failure_of(item, event_type),
        )
    ]


def failure_of(item: dict[str, Any], event_type: EventType) -> dict[str, Any]:
    if event_type == EventType.BOUNCED:
        # "blocked" is a reputation or policy block; "bounce" (or none) is permanent.
        hard = str(item.get("type") or "bounce").lower() != "blocked"
        return bounce_fields(item.get("reason"), status=item.get("status"), hard=hard)
    if event_type == EventType.DROPPED:
        return reply_fields(item.get("reason"), status=item.get("status"))
    if event_type in (EventType.DELIVERED, EventType.DEFERRED):
        return reply_fields(item.get("response"), status=item.get("status"))
    return {}


def message_id_of(item: dict[str, Any]) -> str | None:
    """Return the Message-ID header (`smtp-id`) without angle brackets."""
    smtp_id = text_value(item.get("smtp-id"))
    return smtp_id.strip("<>") if smtp_id else None


def categories_of(item: dict[str, Any]) -> list[str]:
    category = item.get("category")
    if isinstance(category, list):
        return [str(value) for value in category]
    return [str(category)] if category else []


def campaign_of(item: dict[str, Any]) -> str | None:
    """Return the Marketing Campaigns or Single Send name, else the first category."""
    for key in ("marketing_campaign_name", "singlesend_name", "marketing_campaign_id", "singlesend_id"):
        if text_value(item.get(key)):
            return text_value(item.get(key))
    categories = categories_of(item)
    return categories[0] if categories else None


def attempt_of(item: dict[str, Any]) -> int | None:
    try:
        return int(item["attempt"])
    except (KeyError, TypeError, ValueError):
        return None


def extra_of(item: dict[str, Any], event_type: EventType) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if categories_of(item):
        extra["categories"] = categories_of(item)
    for key in ("sg_message_id", "type", "bounce_classification", "url", "useragent", "asm_group_id", "tls"):
        if item.get(key) not in (None, ""):
            extra[key] = item[key]
    if event_type not in SENDING_IP_EVENTS and item.get("ip"):
        extra["reader_ip"] = item["ip"]
    pool = item.get("pool")
    if isinstance(pool, dict) and pool.get("name"):
        extra["ip_pool"] = pool["name"]
    return extra


PARSER = ParserSpec(
    kind=KIND,
    description="SendGrid Event Webhook batches",
    sniff=sniff,
    parse=parse,
)
