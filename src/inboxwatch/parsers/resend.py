"""Resend webhooks: `{"type": "email.<event>", "created_at": ..., "data": {...}}`.

Resend delivers webhooks through Svix, one event per request, and the
parser emits one event per address in `data.to`. An `email.bounced` event
for an address on Resend's suppression list (bounce subtype Suppressed, or
in older payloads a message that states the suppression) means Resend never
sent, so it is dropped, like `email.suppressed` and `email.failed`. Where the bounce has no `type`,
older payloads say "hard bounce" or "soft bounce" in the message.
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
    domain_of,
    email_address,
    is_signing_material,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "resend"

EVENT_TYPES = {
    "email.sent": EventType.SENT,
    "email.delivered": EventType.DELIVERED,
    "email.delivery_delayed": EventType.DEFERRED,
    "email.bounced": EventType.BOUNCED,
    "email.complained": EventType.COMPLAINED,
    "email.opened": EventType.OPENED,
    "email.clicked": EventType.CLICKED,
    "email.failed": EventType.DROPPED,
    "email.suppressed": EventType.DROPPED,
}

# Scheduling, inbound mail, contact and domain events: no delivery event.
NO_EVENT_PREFIXES = ("contact.", "domain.")
NO_EVENT_TYPES = frozenset({"email.scheduled", "email.received"})

SUPPRESSION_SUBTYPES = frozenset({"suppressed", "onaccountsuppressionlist"})

# Header names Svix signs with; a captured signing test vector names them.
SVIX_HEADERS = ("svix-id", "svix-signature", "webhook-signature")


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if not text:
        return 0
    if '"email.' in text and '"data"' in text:
        return 90
    if any(header in text for header in SVIX_HEADERS):
        return 50
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item)


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    name = item.get("type")
    if name is None:
        if is_signing_material(item):
            log.info("Resend (Svix) signing test vector carries no event")
            return []
        raise missing_field("Resend", "type")
    if name in NO_EVENT_TYPES or str(name).startswith(NO_EVENT_PREFIXES):
        return []
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        raise unknown_type("Resend", "type", name, set(EVENT_TYPES) | NO_EVENT_TYPES)
    data = item.get("data") if isinstance(item.get("data"), dict) else {}
    recipients = [address for address in (email_address(value) for value in as_list(data.get("to"))) if address]
    if not recipients:
        raise missing_field("Resend", "data.to")

    event_type, fields = failure_of(event_type, data)
    sender = email_address(data.get("from"))
    tags = tags_of(data)
    return [
        DeliveryEvent(
            type=event_type,
            time=iso_to_datetime(item.get("created_at")) or iso_to_datetime(data.get("created_at")),
            source=KIND,
            event_id=stable_event_id(item, recipient),
            recipient=recipient,
            sender=sender,
            message_id=text_value(data.get("email_id")),
            sending_domain=domain_of(sender),
            tenant=context.tenant,
            campaign=tags.get("campaign"),
            extra=extra_of(data, tags),
            **fields,
        )
        for recipient in recipients
    ]


def failure_of(event_type: EventType, data: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
    bounce = data.get("bounce") if isinstance(data.get("bounce"), dict) else {}
    message = text_value(bounce.get("message"))
    if event_type == EventType.DROPPED:
        failed = data.get("failed") if isinstance(data.get("failed"), dict) else {}
        return event_type, reply_fields(message or text_value(failed.get("reason")))
    if event_type != EventType.BOUNCED:
        return event_type, {}
    if is_suppression(bounce):
        return EventType.DROPPED, reply_fields(message)
    return EventType.BOUNCED, bounce_fields(message, hard=bounce_verdict(bounce))


def is_suppression(bounce: dict[str, Any]) -> bool:
    subtype = str(bounce.get("subType") or "").lower()
    message = str(bounce.get("message") or "").lower()
    return subtype in SUPPRESSION_SUBTYPES or "suppressed sending" in message


def bounce_verdict(bounce: dict[str, Any]) -> bool | None:
    """Return Resend's hard/soft verdict, or None to leave it to the classifier."""
    bounce_type = str(bounce.get("type") or "").lower()
    if bounce_type == "permanent":
        return True
    if bounce_type == "transient":
        return False
    message = str(bounce.get("message") or "").lower()
    if "hard bounce" in message:
        return True
    if "soft bounce" in message:
        return False
    return None


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if value else []


def tags_of(data: dict[str, Any]) -> dict[str, str]:
    """Return tags given as an object or as a list of `{"name", "value"}` pairs."""
    tags = data.get("tags")
    if isinstance(tags, dict):
        return {str(name): str(value) for name, value in tags.items()}
    if isinstance(tags, list):
        return {str(tag.get("name")): str(tag.get("value")) for tag in tags if isinstance(tag, dict) and tag.get("name")}
    return {}


def extra_of(data: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if tags:
        extra["tags"] = tags
    bounce = data.get("bounce")
    if isinstance(bounce, dict):
        extra.update({"bounce_" + key: bounce[key] for key in ("type", "subType") if bounce.get(key)})
    click = data.get("click")
    if isinstance(click, dict) and click.get("link"):
        extra["url"] = click["link"]
    return extra


PARSER = ParserSpec(
    kind=KIND,
    description="Resend webhooks (Svix-delivered email.* events)",
    sniff=sniff,
    parse=parse,
)
