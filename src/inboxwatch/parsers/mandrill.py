"""Mandrill (Mailchimp Transactional) webhooks: the `mandrill_events` form field.

Mandrill posts a form with one field, `mandrill_events`, whose value is a
JSON array of events. A captured body may be that form or the decoded array.
Mandrill sends `send` once the receiving server accepted the message (after
any `deferral` events) and has no separate delivered event, so `send` is
read as delivered. Sync events (`type` whitelist or blacklist) change
Mandrill's lists and carry no message event.
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
    decode_json_field,
    domain_of,
    email_address,
    form_field_names,
    has_key,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "mandrill"

FORM_FIELD = "mandrill_events"

EVENT_TYPES = {
    "send": EventType.DELIVERED,
    "deferral": EventType.DEFERRED,
    "hard_bounce": EventType.BOUNCED,
    "soft_bounce": EventType.BOUNCED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "spam": EventType.COMPLAINED,
    "unsub": EventType.UNSUBSCRIBED,
    "reject": EventType.DROPPED,
}

# Inbound mail routed to a webhook is not a sending event.
NO_EVENT_TYPES = frozenset({"inbound"})

SYNC_TYPES = frozenset({"whitelist", "blacklist"})


def sniff(head: bytes, name: str) -> int:
    if FORM_FIELD in form_field_names(head):
        return 95
    text = sniff_json_head(head)
    if not text:
        return 0
    if has_key(text, FORM_FIELD):
        return 95
    if has_key(text, "msg") and has_key(text, "event") and has_key(text, "ts"):
        return 85
    if has_key(text, "action") and has_key(text, "reject") and ('"blacklist"' in text or '"whitelist"' in text):
        return 70
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item, unwrap_form)


def unwrap_form(payload: Any) -> Any:
    """Return the events of the form field `mandrill_events`, or the payload as it is."""
    if isinstance(payload, dict) and FORM_FIELD in payload:
        return decode_json_field(payload[FORM_FIELD], FORM_FIELD)
    return payload


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    name = item.get("event")
    if name is None:
        if item.get("type") in SYNC_TYPES:
            log.debug("Mandrill sync event (%s %s) carries no message event", item.get("type"), item.get("action"))
            return []
        raise missing_field("Mandrill", "event")
    if name in NO_EVENT_TYPES:
        return []
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        raise unknown_type("Mandrill", "event", name, set(EVENT_TYPES) | NO_EVENT_TYPES)

    msg = item.get("msg") if isinstance(item.get("msg"), dict) else {}
    recipient = email_address(msg.get("email"))
    if recipient is None:
        raise missing_field("Mandrill", "msg.email")

    sender = email_address(msg.get("sender"))
    last_attempt = last_smtp_event(msg)
    tags = msg.get("tags") if isinstance(msg.get("tags"), list) else []
    return [
        DeliveryEvent(
            type=event_type,
            time=epoch_to_datetime(item.get("ts")),
            source=KIND,
            event_id=stable_event_id(item),
            recipient=recipient,
            sender=sender,
            message_id=text_value(msg.get("_id")) or text_value(item.get("_id")),
            sending_ip=text_value(last_attempt.get("source_ip")),
            sending_domain=domain_of(sender),
            relay_ip=text_value(last_attempt.get("destination_ip")),
            tenant=text_value(msg.get("subaccount")) or context.tenant,
            campaign=text_value(tags[0]) if tags else None,
            extra=extra_of(item, msg),
            **failure_of(name, msg, last_attempt),
        )
    ]


def last_smtp_event(msg: dict[str, Any]) -> dict[str, Any]:
    """Return the last delivery attempt Mandrill lists in `msg.smtp_events`, or an empty dict."""
    attempts = msg.get("smtp_events")
    if isinstance(attempts, list) and attempts and isinstance(attempts[-1], dict):
        return attempts[-1]
    return {}


def failure_of(name: str, msg: dict[str, Any], last_attempt: dict[str, Any]) -> dict[str, Any]:
    diagnostic = text_value(msg.get("diag")) or text_value(last_attempt.get("diag"))
    if name in ("hard_bounce", "soft_bounce"):
        return bounce_fields(diagnostic, hard=name == "hard_bounce")
    if name in ("send", "deferral", "reject"):
        return reply_fields(diagnostic)
    return {}


def extra_of(item: dict[str, Any], msg: dict[str, Any]) -> dict[str, Any]:
    extra = {key: msg[key] for key in ("tags", "metadata", "bounce_description", "bgtools_code", "state") if msg.get(key) not in (None, "", [], {})}
    if item.get("url"):
        extra["url"] = item["url"]
    if item.get("ip"):
        extra["reader_ip"] = item["ip"]
    return extra


PARSER = ParserSpec(
    kind=KIND,
    description="Mandrill webhooks (mandrill_events form field or its JSON array)",
    sniff=sniff,
    parse=parse,
)
