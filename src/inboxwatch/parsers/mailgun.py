"""Mailgun webhooks: webhooks 2.0 JSON, Events API pages and legacy form fields.

A webhooks 2.0 body is `{"signature": {...}, "event-data": {...}}`. An
Events API page is `{"items": [...], "paging": {...}}` of the same event
objects. Legacy (webhooks 1.0) bodies are flat form fields such as `event`,
`recipient`, `code`, `error` and `reason`, posted form-encoded or captured as
JSON. Mailgun's `failed` event with severity "permanent" means Mailgun gave
up: its reason "suppress-*" means Mailgun never sent (dropped), and "old"
means retries ran out (a soft bounce). Mailgun gives no hard/soft verdict of
its own, so the classifier decides from the reply.
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO, Iterator

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.parsers.esp_body import read_body
from inboxwatch.parsers.jsoninput import epoch_to_datetime, sniff_json_head
from inboxwatch.parsers.smtpreply import bounce_fields, enhanced_status_of, reply_fields
from inboxwatch.parsers.webhook import (
    domain_of,
    email_address,
    form_field_names,
    has_key,
    is_signing_material,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "mailgun"

# Event names whose type does not depend on the event's details. "dropped"
# and "bounced" are legacy names; "accepted", "rejected" and "failed" are
# webhooks 2.0 names.
SIMPLE_TYPES = {
    "accepted": EventType.SENT,
    "delivered": EventType.DELIVERED,
    "rejected": EventType.DROPPED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
    "complained": EventType.COMPLAINED,
    "unsubscribed": EventType.UNSUBSCRIBED,
}
DETAILED_TYPES = frozenset({"failed", "dropped", "bounced"})

# Storage and mailing-list events: no message was sent to anyone.
NO_EVENT_TYPES = frozenset({"stored", "list_member_uploaded", "list_member_upload_error", "list_uploaded"})

# The reason Mailgun gives when it stops retrying a temporary failure.
RETRIES_EXHAUSTED = "old"


def sniff(head: bytes, name: str) -> int:
    fields = form_field_names(head)
    if fields:
        return 60 if {"event", "recipient"} <= fields else 0
    text = sniff_json_head(head)
    if not text:
        return 0
    if has_key(text, "event-data"):
        return 95
    if has_key(text, "log-level") or has_key(text, "delivery-status"):
        return 85
    if has_key(text, "token") and has_key(text, "signature"):
        return 60
    if has_key(text, "event") and has_key(text, "recipient"):
        return 40
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item, unwrap_events_page)


def unwrap_events_page(payload: Any) -> Any:
    """Return the events of an Events API page (`{"items": [...]}`), or the payload as it is."""
    if isinstance(payload, dict) and isinstance(payload.get("items"), list):
        return payload["items"]
    return payload


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    if "event-data" in item:
        data = item["event-data"]
        if not isinstance(data, dict):
            raise ParseError("Mailgun field event-data is not a JSON object: got %s" % type(data).__name__, field="event-data")
        try:
            return read_event(data, context)
        except ParseError as exc:
            exc.field = "event-data." + exc.field if exc.field else "event-data"
            raise
    if "event" not in item and is_signing_material(item):
        log.info("Mailgun body with a signature and no event-data carries no event")
        return []
    return read_event(item, context)


def read_event(data: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    name = data.get("event")
    if name is None:
        raise missing_field("Mailgun", "event")
    name = str(name).lower()
    if name in NO_EVENT_TYPES:
        return []
    if name in SIMPLE_TYPES:
        event_type, failure = SIMPLE_TYPES[name], simple_failure(data, SIMPLE_TYPES[name])
    elif name in DETAILED_TYPES:
        event_type, failure = failure_of(name, data)
    else:
        raise unknown_type("Mailgun", "event", data.get("event"), set(SIMPLE_TYPES) | DETAILED_TYPES | NO_EVENT_TYPES)

    status = delivery_status(data)
    envelope = data.get("envelope") if isinstance(data.get("envelope"), dict) else {}
    sender = email_address(envelope.get("sender"))
    return [
        DeliveryEvent(
            type=event_type,
            time=epoch_to_datetime(data.get("timestamp")),
            source=KIND,
            event_id=text_value(data.get("id")) or stable_event_id(data),
            recipient=email_address(data.get("recipient")),
            sender=sender,
            message_id=message_id_of(data),
            sending_ip=text_value(envelope.get("sending-ip")),
            sending_domain=domain_of(sender),
            relay_host=text_value(status.get("mx-host")),
            tenant=context.tenant,
            campaign=campaign_of(data),
            attempt=status.get("attempt-no") if isinstance(status.get("attempt-no"), int) else None,
            extra=extra_of(data),
            **failure,
        )
    ]


def delivery_status(data: dict[str, Any]) -> dict[str, Any]:
    status = data.get("delivery-status")
    return status if isinstance(status, dict) else {}


def reply_text(data: dict[str, Any]) -> str | None:
    """Return the receiving server's reply: webhooks 2.0 delivery-status, or legacy `error`/`description`."""
    status = delivery_status(data)
    for value in (status.get("message"), status.get("description"), data.get("error"), data.get("description")):
        if text_value(value):
            return text_value(value)
    return None


def reply_code(data: dict[str, Any]) -> tuple[Any, Any]:
    """Return (reply code, enhanced status) from `delivery-status.code` or the legacy `code`.

    The legacy `code` contains a reply code (550), an enhanced status (5.1.1) or
    a Mailgun code above 599 (607), which is neither.
    """
    code = delivery_status(data).get("code", data.get("code"))
    status = enhanced_status_of(code)
    return (None, status) if status else (code, None)


def simple_failure(data: dict[str, Any], event_type: EventType) -> dict[str, Any]:
    if event_type == EventType.DELIVERED:
        code, status = reply_code(data)
        return reply_fields(reply_text(data), code=code, status=status)
    if event_type == EventType.DROPPED:
        reject = data.get("reject") if isinstance(data.get("reject"), dict) else {}
        return reply_fields(text_value(reject.get("reason")) or reply_text(data))
    return {}


def failure_of(name: str, data: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
    code, status = reply_code(data)
    text = reply_text(data)
    reason = str(data.get("reason") or "").lower()
    severity = str(data.get("severity") or "").lower()
    if name == "failed" and severity == "temporary":
        return EventType.DEFERRED, reply_fields(text, code=code, status=status)
    if reason == RETRIES_EXHAUSTED:
        return EventType.BOUNCED, bounce_fields(text, code=code, status=status, hard=False)
    if reason.startswith("suppress-") or name == "dropped":
        return EventType.DROPPED, reply_fields(text, code=code, status=status)
    return EventType.BOUNCED, bounce_fields(text, code=code, status=status)


def message_id_of(data: dict[str, Any]) -> str | None:
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
    value = text_value(headers.get("message-id")) or text_value(data.get("Message-Id")) or text_value(data.get("message-id"))
    return value.strip("<>") if value else None


def campaign_of(data: dict[str, Any]) -> str | None:
    campaigns = data.get("campaigns")
    if isinstance(campaigns, list) and campaigns:
        first = campaigns[0]
        return text_value(first.get("name") or first.get("id")) if isinstance(first, dict) else text_value(first)
    tags = data.get("tags")
    if isinstance(tags, list) and tags:
        return text_value(tags[0])
    return text_value(data.get("campaign-name")) or text_value(data.get("tag"))


def extra_of(data: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key in ("severity", "reason", "tags", "user-variables", "url", "ip", "log-level"):
        if data.get(key) not in (None, "", [], {}):
            extra[key.replace("-", "_")] = data[key]
    if "ip" in extra:
        extra["reader_ip"] = extra.pop("ip")
    return extra


PARSER = ParserSpec(
    kind=KIND,
    description="Mailgun webhooks (2.0 JSON, Events API pages, legacy form fields)",
    sniff=sniff,
    parse=parse,
)
