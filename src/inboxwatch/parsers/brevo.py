"""Brevo (formerly Sendinblue) webhooks: one JSON object per transactional or marketing event.

Brevo's `blocked` and `invalid_email` events and its `error` event mean
Brevo refused or failed to send, so they are dropped. `deferred` keeps
Brevo's own verdict even when the reply is a 5xx: Brevo retries it, and a
final `hard_bounce` follows when it gives up. `proxy_open` and
`unique_proxy_open` are opens fetched by a privacy proxy (Apple Mail Privacy
Protection); they count as opened and are marked `proxy_open` in `extra`.
"""

from __future__ import annotations

import json
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
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "brevo"

EVENT_TYPES = {
    "request": EventType.SENT,
    "delivered": EventType.DELIVERED,
    "deferred": EventType.DEFERRED,
    "hard_bounce": EventType.BOUNCED,
    "soft_bounce": EventType.BOUNCED,
    "blocked": EventType.DROPPED,
    "invalid_email": EventType.DROPPED,
    "error": EventType.DROPPED,
    "spam": EventType.COMPLAINED,
    "complaint": EventType.COMPLAINED,
    "opened": EventType.OPENED,
    "unique_opened": EventType.OPENED,
    "proxy_open": EventType.OPENED,
    "unique_proxy_open": EventType.OPENED,
    "click": EventType.CLICKED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "unsubscribed": EventType.UNSUBSCRIBED,
}

# Contact-list changes from marketing webhooks: no message event.
NO_EVENT_TYPES = frozenset({"list_addition", "contact_updated", "contact_deleted"})

PROXY_OPENS = frozenset({"proxy_open", "unique_proxy_open"})

# Event time fields in order of preference. `ts_event` is the event time in
# Unix seconds. `ts_epoch` is milliseconds in most payloads but seconds in
# some, and epoch_to_datetime accepts both. `date` is local time with no zone,
# so it is not used.
TIME_FIELDS = ("ts_event", "ts_epoch", "ts")

# Keys only Brevo sends, for detection.
BREVO_KEYS = ("ts_epoch", "ts_event", "X-Mailin-custom", "message-id", "s_epoch")


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if not text or not has_key(text, "event") or not has_key(text, "email"):
        return 0
    if any(has_key(text, key) for key in BREVO_KEYS):
        return 80
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item)


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    name = item.get("event")
    if name is None:
        raise missing_field("Brevo", "event")
    if name in NO_EVENT_TYPES:
        return []
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        raise unknown_type("Brevo", "event", name, set(EVENT_TYPES) | NO_EVENT_TYPES)
    recipient = email_address(item.get("email"))
    if recipient is None:
        raise missing_field("Brevo", "email")
    message_id = text_value(item.get("message-id"))
    tags = tags_of(item)
    return [
        DeliveryEvent(
            type=event_type,
            time=time_of(item),
            source=KIND,
            event_id=stable_event_id(item),
            recipient=recipient,
            message_id=message_id.strip("<>") if message_id else None,
            sending_ip=text_value(item.get("sending_ip")),
            tenant=context.tenant,
            campaign=text_value(item.get("camp_id")) or (tags[0] if tags else None),
            extra=extra_of(item, name, tags),
            **failure_of(name, item.get("reason")),
        )
    ]


def time_of(item: dict[str, Any]):
    for field in TIME_FIELDS:
        time = epoch_to_datetime(item.get(field))
        if time is not None:
            return time
    return None


def tags_of(item: dict[str, Any]) -> list[str]:
    """Return the tags from `tags` (a list) or `tag` (a list, a JSON list in a string, or one tag)."""
    for value in (item.get("tags"), item.get("tag")):
        if isinstance(value, str) and value.startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        if isinstance(value, list) and value:
            return [str(tag) for tag in value]
        if isinstance(value, str) and value.strip():
            return [value.strip()]
    return []


def failure_of(name: str, reason: Any) -> dict[str, Any]:
    if name in ("hard_bounce", "soft_bounce"):
        return bounce_fields(reason, hard=name == "hard_bounce")
    if EVENT_TYPES[name] in (EventType.DEFERRED, EventType.DROPPED, EventType.DELIVERED):
        return reply_fields(reason)
    return {}


def extra_of(item: dict[str, Any], name: str, tags: list[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {"event": name}
    if name in PROXY_OPENS:
        extra["proxy_open"] = True
    if tags:
        extra["tags"] = tags
    for key in ("link", "template_id", "subject"):
        if item.get(key) not in (None, ""):
            extra[key] = item[key]
    return extra


PARSER = ParserSpec(
    kind=KIND,
    description="Brevo (Sendinblue) transactional and marketing webhooks",
    sniff=sniff,
    parse=parse,
)
