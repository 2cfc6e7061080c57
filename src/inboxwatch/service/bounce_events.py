"""Ingest handlers that turn bounce and complaint messages into delivery events.

A failed recipient of a bounce becomes a `bounced` event, a recipient of a
delayed DSN (Action: delayed) a `deferred` event, and a feedback report a
`complained` event. Success notices and auto-replies become no event,
because the mailbox took the message.

A bounce is counted once whichever input reports it first. A bounce message
about a bounce already stored as `bounced` for the same original Message-ID
and recipient (from the MTA log or an ESP webhook) adds its details to that
event. A logged bounce whose bounce message is already stored takes that
event's place, with the same details (see `take_over_bounce_messages`).
"""

from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from inboxwatch.classify.enrich import EnrichOptions, enrich
from inboxwatch.model.bounces import AutoReplyRecord, BounceRecord, ComplaintRecord
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.service.records import HandlerResult, RecordContext
from inboxwatch.store.bounce_matches import (
    BOUNCE_MESSAGE_SOURCE,
    add_bounce_details,
    delete_counted_events,
    find_bounce_message_events,
    find_stored_bounces,
    normalize_message_id,
    stored_event_keys,
)
from inboxwatch.store.events import event_key, store_events

log = logging.getLogger(__name__)

# How far apart the logged bounce and the bounce message may be. The MTA
# writes both at the same moment, so a day covers clock skew and queueing of
# the bounce message itself.
MATCH_WINDOW = timedelta(days=1)

DELAYED_ACTIONS = frozenset({"delayed"})


def message_time(*values: str | None) -> datetime | None:
    """Return the first of `values` that parses as an RFC 5322 date, in UTC."""
    for value in values:
        if not value:
            continue
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    return None


def stable_id(*parts: object) -> str:
    """Return an event id that is the same whenever the same message is ingested again."""
    text = "\0".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]


def bounce_event(record: BounceRecord, context: RecordContext) -> DeliveryEvent | None:
    """Return the delivery event a bounce record reports, or None for a success notice.

    The event's time is the bounce message's Date, else the DSN Arrival-Date,
    else the time of ingest.
    """
    if record.reason == "delivered":
        return None
    delayed = (record.action or "").lower() in DELAYED_ACTIONS
    message_id = normalize_message_id(record.original_message_id)
    time = message_time(record.date, record.arrival_date) or context.now
    return DeliveryEvent(
        type=EventType.DEFERRED if delayed else EventType.BOUNCED,
        time=time,
        source=BOUNCE_MESSAGE_SOURCE,
        event_id=stable_id(message_id, record.recipient, record.action, record.status, record.diagnostic, record.date),
        recipient=record.recipient,
        sender=email.utils.parseaddr(record.sender or "")[1] or None,
        message_id=message_id,
        relay_host=record.remote_mta,
        tenant=record.tenant,
        campaign=record.campaign,
        smtp_code=record.smtp_code,
        enhanced_status=record.status,
        diagnostic=record.diagnostic,
        bounce_reason=record.reason,
        hard=None if delayed else record.hard,
        extra={"rule": record.rule, "reporting_mta": record.reporting_mta, "format": record.format},
    )


def complaint_event(record: ComplaintRecord, context: RecordContext) -> DeliveryEvent:
    """Return the `complained` event of a feedback report; its time is the report's Arrival-Date, else the time of ingest."""
    message_id = normalize_message_id(record.original_message_id)
    return DeliveryEvent(
        type=EventType.COMPLAINED,
        time=message_time(record.arrival_date) or context.now,
        source="complaint",
        event_id=stable_id(record.feedback_type, message_id, record.original_rcpt_to, record.arrival_date, record.source_ip),
        recipient=email.utils.parseaddr(record.original_rcpt_to or "")[1] or None,
        sender=email.utils.parseaddr(record.original_mail_from or "")[1] or None,
        message_id=message_id,
        sending_ip=valid_ip(record.source_ip),
        tenant=record.tenant,
        campaign=record.campaign,
        extra={"feedback_type": record.feedback_type, "user_agent": record.user_agent},
    )


def valid_ip(value: str | None) -> str | None:
    """Return `value` when it is an IP address; reports often redact Source-IP to "x.x.x.x"."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def recipient_keys(event: DeliveryEvent) -> list[tuple[str, str]]:
    """Return the keys under which `find_stored_bounces` may list an event for the same message and recipient."""
    message_id = normalize_message_id(event.message_id)
    if not message_id:
        return []
    keys = []
    if event.recipient:
        keys.append((message_id, event.recipient.lower()))
    if event.recipient_domain:
        keys.append((message_id, "@" + event.recipient_domain))
    return keys


def bounce_details(event: DeliveryEvent | sa.Row) -> dict:
    """Return what a bounce message adds to the event that counts its bounce, from its event or its stored row."""
    return {
        "bounce_reason": event.bounce_reason,
        "hard": event.hard,
        "enhanced_status": event.enhanced_status,
        "smtp_code": event.smtp_code,
        "diagnostic": event.diagnostic,
        "rule": (event.extra or {}).get("rule"),
    }


def take_over_bounce_messages(conn: sa.Connection, events: list[DeliveryEvent]) -> list[DeliveryEvent]:
    """Return `events` with each bounce already counted by a stored bounce-message event taking that event's place.

    Such a stored event (same original Message-ID and recipient, within
    MATCH_WINDOW) is deleted and taken out of the rollups, and the new
    event carries its details under `extra["bounce_message"]`. So the store
    ends as it does when the bounce message comes second: one event, from
    the log or webhook, which names the sending IP and the queue. Called in
    the batch's transaction before the events are stored.
    """
    candidates = [
        (index, event)
        for index, event in enumerate(events)
        if event.type is EventType.BOUNCED
        and event.message_id
        and event.time is not None
        and event.source != BOUNCE_MESSAGE_SOURCE
    ]
    if not candidates:
        return events
    times = [event.time for _, event in candidates]
    stored = find_bounce_message_events(
        conn,
        [normalize_message_id(event.message_id) for _, event in candidates],
        min(times) - MATCH_WINDOW,
        max(times) + MATCH_WINDOW,
    )
    if not stored:
        return events

    matches = []
    for index, event in candidates:
        row = next((stored.pop(key) for key in recipient_keys(event) if key in stored), None)
        if row is not None:
            matches.append((index, event, row))
    # A logged bounce that is itself stored already (the log ingested again)
    # leaves the stored bounce-message event alone.
    already_stored = stored_event_keys(conn, [event_key(event) for _, event, _ in matches])
    result = list(events)
    replaced = []
    for index, event, row in matches:
        if event_key(event) in already_stored:
            continue
        result[index] = event.replace(extra={**event.extra, "bounce_message": bounce_details(row)})
        replaced.append(row)
    delete_counted_events(conn, replaced)
    if replaced:
        log.info("%d bounce-message events replaced by the events that report the same bounces", len(replaced))
    return result


def store_bounce_batch(conn: sa.Connection, records: Sequence[BounceRecord], context: RecordContext) -> HandlerResult:
    """Store bounce records as events, adding details to bounces already stored instead of counting them twice.

    A log ingested after the bounce message is matched the other way round,
    by `take_over_bounce_messages`.
    """
    options = EnrichOptions(tenant=context.tenant)
    events = [enrich(event, options) for record in records if (event := bounce_event(record, context)) is not None]
    bounced = [event for event in events if event.type is EventType.BOUNCED and event.message_id]
    stored: dict[tuple[str, str], tuple[int, str]] = {}
    if bounced:
        times = [event.time for event in bounced if event.time is not None]
        stored = find_stored_bounces(
            conn, [event.message_id for event in bounced], min(times) - MATCH_WINDOW, max(times) + MATCH_WINDOW
        )

    new_events = []
    merged = 0
    for event in events:
        match = next((stored[key] for key in recipient_keys(event) if key in stored), None)
        # A match with this event's own key is the same bounce message
        # ingested again, which `store_events` skips as a duplicate.
        if event.type is EventType.BOUNCED and match is not None and match[1] != event_key(event):
            add_bounce_details(conn, match[0], bounce_details(event))
            merged += 1
            continue
        new_events.append(event)

    counts = store_events(
        conn,
        new_events,
        ingest_id=context.ingest_id,
        tenant_default=context.tenant,
        recipient_retention=context.recipient_retention,
        now=context.now,
    )
    log.info(
        "%s: %d bounce events stored, %d already stored, %d added to bounces already counted",
        context.source,
        counts.stored,
        counts.duplicates,
        merged,
    )
    # A merged bounce adds details to an event already counted: a duplicate for the counts.
    return HandlerResult(events_stored=counts.stored, duplicates=counts.duplicates + merged)


def store_complaint_batch(conn: sa.Connection, records: Sequence[ComplaintRecord], context: RecordContext) -> HandlerResult:
    options = EnrichOptions(tenant=context.tenant)
    events = [enrich(complaint_event(record, context), options) for record in records]
    counts = store_events(
        conn,
        events,
        ingest_id=context.ingest_id,
        tenant_default=context.tenant,
        recipient_retention=context.recipient_retention,
        now=context.now,
    )
    log.info("%s: %d complaint events stored, %d already stored", context.source, counts.stored, counts.duplicates)
    return HandlerResult(events_stored=counts.stored, duplicates=counts.duplicates)


def skip_auto_replies(conn: sa.Connection, records: Sequence[AutoReplyRecord], context: RecordContext) -> HandlerResult:
    # An auto-reply shows that the mailbox exists and took the message, so it is never a bounce.
    log.debug("%s: %d auto-replies not counted", context.source, len(records))
    return HandlerResult()


RECORD_HANDLERS = {
    BounceRecord: store_bounce_batch,
    ComplaintRecord: store_complaint_batch,
    AutoReplyRecord: skip_auto_replies,
}
