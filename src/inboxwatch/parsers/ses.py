"""Amazon SES sending events: notifications and event publishing, bare or in SNS envelopes.

SES reports sending events in two forms. Identity notifications carry
`notificationType` (Bounce, Complaint, Delivery). Event publishing through a
configuration set carries `eventType` (Send, Delivery, Bounce, Complaint,
Reject, DeliveryDelay, Open, Click, "Rendering Failure" with a space,
Subscription). Both arrive as the `Message` string of an SNS notification,
or bare where an SQS queue or a Firehose stream delivers them. `Received` notifications belong to SES
receiving (inbound mail) and carry no outbound event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, BinaryIO, Iterator

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.parsers.esp_body import read_body
from inboxwatch.parsers.jsoninput import iso_to_datetime, sniff_json_head
from inboxwatch.parsers.smtpreply import bounce_fields, reply_fields
from inboxwatch.parsers.webhook import (
    decode_json_field,
    domain_of,
    email_address,
    has_key,
    missing_field,
    stable_event_id,
    text_value,
    unknown_type,
)

log = logging.getLogger(__name__)

KIND = "ses"

# SNS message types that confirm or end a subscription instead of carrying a
# notification; a receiver confirms through SubscribeURL.
SNS_CONTROL_TYPES = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})

# SES notification types that are not outbound sending events: inbound mail,
# and the test message SES sends when a topic is set up.
NO_EVENT_TYPES = frozenset({"Received", "AmazonSnsSubscriptionSucceeded"})

# Permanent bounce subtypes for which SES never sent the message because the
# address is on the global or the account-level suppression list.
SUPPRESSION_SUBTYPES = frozenset({"Suppressed", "OnAccountSuppressionList"})

# Tag names (lower case) read as the campaign and the tenant.
CAMPAIGN_TAGS = ("campaign", "campaign_id", "campaign-id", "campaignid")
TENANT_TAGS = ("tenant", "tenant_id", "tenant-id", "tenantid")

EventReader = Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], list[DeliveryEvent]]


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if not text:
        return 0
    if "notificationType" in text or "eventType" in text:
        # Inside an SNS envelope the keys are escaped in the Message string.
        if '"mail' in text or '\\"mail' in text:
            return 90
        return 40
    if has_key(text, "TopicArn") and has_key(text, "Type"):
        return 70
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    yield from read_body(stream, context, read_item)


def read_item(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    if "TopicArn" in item and "Type" in item:
        return read_sns_envelope(item, context)
    return read_ses_event(item, context)


def read_sns_envelope(envelope: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    sns_type = envelope.get("Type")
    if sns_type in SNS_CONTROL_TYPES:
        log.info("SNS %s for topic %s carries no event", sns_type, envelope.get("TopicArn"))
        return []
    if sns_type != "Notification":
        raise unknown_type("SNS message", "Type", sns_type, SNS_CONTROL_TYPES | {"Notification"})
    message = decode_json_field(envelope.get("Message"), "Message")
    if not isinstance(message, dict):
        raise ParseError("SNS Message is not a JSON object: got %s" % type(message).__name__, field="Message")
    try:
        return read_ses_event(message, context)
    except ParseError as exc:
        exc.field = "Message." + exc.field if exc.field else "Message"
        raise


def read_ses_event(item: dict[str, Any], context: ParseContext) -> list[DeliveryEvent]:
    field = "eventType" if "eventType" in item else "notificationType"
    event_type = item.get(field)
    if event_type is None:
        raise missing_field("SES", "eventType or notificationType")
    if event_type in NO_EVENT_TYPES:
        log.debug("SES %s notification is not a sending event", event_type)
        return []
    reader = EVENT_READERS.get(event_type)
    if reader is None:
        raise unknown_type("SES", field, event_type, EVENT_READERS)
    mail = item.get("mail") or {}
    if not isinstance(mail, dict):
        raise ParseError("SES field mail is not a JSON object", field="mail")
    return reader(item, mail, common_fields(mail, context))


def common_fields(mail: dict[str, Any], context: ParseContext) -> dict[str, Any]:
    """Build the fields that every event of one message shares from the `mail` object."""
    tags = mail_tags(mail)
    sender = email_address(mail.get("source"))
    extra: dict[str, Any] = {}
    if tags:
        extra["tags"] = tags
    # mail.sourceIp is the address of the client that called the SES API, not
    # the address SES sent from. The ses:outgoing-ip tag contains the latter.
    if mail.get("sourceIp"):
        extra["client_ip"] = mail["sourceIp"]
    return {
        "source": KIND,
        "message_id": text_value(mail.get("messageId")),
        "sender": sender,
        "sending_ip": first_tag(tags, ("ses:outgoing-ip",)),
        "sending_domain": first_tag(tags, ("ses:from-domain",)) or domain_of(sender),
        "campaign": first_tag(tags, CAMPAIGN_TAGS),
        "tenant": first_tag(tags, TENANT_TAGS) or context.tenant,
        "extra": extra,
    }


def mail_tags(mail: dict[str, Any]) -> dict[str, list[str]]:
    tags = mail.get("tags")
    if not isinstance(tags, dict):
        return {}
    return {str(name): [str(value) for value in values] if isinstance(values, list) else [str(values)] for name, values in tags.items()}


def first_tag(tags: dict[str, list[str]], names: tuple[str, ...]) -> str | None:
    for name, values in tags.items():
        if name.lower() in names and values:
            return values[0]
    return None


def detail_of(item: dict[str, Any], key: str) -> dict[str, Any]:
    detail = item.get(key) or {}
    if not isinstance(detail, dict):
        raise ParseError("SES field %s is not a JSON object" % key, field=key)
    return detail


def event_time(detail: dict[str, Any], mail: dict[str, Any]):
    return iso_to_datetime(detail.get("timestamp")) or iso_to_datetime(mail.get("timestamp"))


def recipients_in(entries: Any, key: str) -> list[dict[str, Any]]:
    """Return the recipient objects of a bounce, complaint or delay, each with an `emailAddress`."""
    if not isinstance(entries, list) or not entries:
        raise missing_field("SES", key)
    result = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"emailAddress": entry}
        if not isinstance(entry, dict) or not email_address(entry.get("emailAddress")):
            raise ParseError("SES %s entry has no emailAddress: %r" % (key, entry), field=key)
        result.append(entry)
    return result


def destinations(mail: dict[str, Any]) -> list[str]:
    addresses = [email_address(value) for value in mail.get("destination") or []]
    found = [address for address in addresses if address]
    if not found:
        raise missing_field("SES", "mail.destination")
    return found


def read_bounce(item, mail, common) -> list[DeliveryEvent]:
    bounce = detail_of(item, "bounce")
    bounce_type = bounce.get("bounceType")
    subtype = bounce.get("bounceSubType")
    suppressed = bounce_type == "Permanent" and subtype in SUPPRESSION_SUBTYPES
    # Permanent and Transient are SES's verdict; Undetermined leaves it to the classifier.
    hard = {"Permanent": True, "Transient": False}.get(bounce_type)
    events = []
    for entry in recipients_in(bounce.get("bouncedRecipients"), "bounce.bouncedRecipients"):
        recipient = email_address(entry["emailAddress"])
        if suppressed:
            # SES did not send: the status and text are its own, not a remote reply.
            event_type, failure = EventType.DROPPED, reply_fields(entry.get("diagnosticCode"), status=entry.get("status"))
        else:
            event_type = EventType.BOUNCED
            failure = bounce_fields(entry.get("diagnosticCode"), status=entry.get("status"), hard=hard)
        events.append(
            DeliveryEvent(
                type=event_type,
                time=event_time(bounce, mail),
                event_id=feedback_event_id(bounce, item, recipient),
                recipient=recipient,
                relay_ip=text_value(bounce.get("remoteMtaIp")),
                **failure,
                **with_extra(common, bounce_type=bounce_type, bounce_subtype=subtype, action=entry.get("action")),
            )
        )
    return events


def read_complaint(item, mail, common) -> list[DeliveryEvent]:
    complaint = detail_of(item, "complaint")
    events = []
    for entry in recipients_in(complaint.get("complainedRecipients"), "complaint.complainedRecipients"):
        recipient = email_address(entry["emailAddress"])
        events.append(
            DeliveryEvent(
                type=EventType.COMPLAINED,
                time=event_time(complaint, mail),
                event_id=feedback_event_id(complaint, item, recipient),
                recipient=recipient,
                **with_extra(
                    common,
                    feedback_type=complaint.get("complaintFeedbackType"),
                    complaint_subtype=complaint.get("complaintSubType"),
                    user_agent=complaint.get("userAgent"),
                ),
            )
        )
    return events


def read_delivery(item, mail, common) -> list[DeliveryEvent]:
    delivery = detail_of(item, "delivery")
    recipients = delivery.get("recipients") or mail.get("destination") or []
    reply = reply_fields(delivery.get("smtpResponse"))
    return [
        DeliveryEvent(
            type=EventType.DELIVERED,
            time=event_time(delivery, mail),
            event_id=stable_event_id(item, recipient),
            recipient=recipient,
            relay_ip=text_value(delivery.get("remoteMtaIp")),
            **reply,
            **with_extra(common, reporting_mta=delivery.get("reportingMTA")),
        )
        for recipient in addresses_or_fail(recipients, "delivery.recipients")
    ]


def read_delivery_delay(item, mail, common) -> list[DeliveryEvent]:
    delay = detail_of(item, "deliveryDelay")
    events = []
    for entry in recipients_in(delay.get("delayedRecipients"), "deliveryDelay.delayedRecipients"):
        recipient = email_address(entry["emailAddress"])
        events.append(
            DeliveryEvent(
                type=EventType.DEFERRED,
                time=event_time(delay, mail),
                event_id=stable_event_id(item, recipient),
                recipient=recipient,
                **reply_fields(entry.get("diagnosticCode"), status=entry.get("status")),
                **with_extra(
                    common,
                    delay_type=delay.get("delayType"),
                    expiration_time=delay.get("expirationTime"),
                    reporting_mta=delay.get("reportingMTA"),
                ),
            )
        )
    return events


def per_destination(event_type: EventType, detail_key: str | None, extra_keys: dict[str, str] | None = None) -> EventReader:
    """Build a reader for events that apply to every address in `mail.destination`."""

    def read(item, mail, common) -> list[DeliveryEvent]:
        detail = detail_of(item, detail_key) if detail_key else {}
        extra = {name: detail.get(key) for name, key in (extra_keys or {}).items()}
        return [
            DeliveryEvent(
                type=event_type,
                time=event_time(detail, mail),
                event_id=stable_event_id(item, recipient),
                recipient=recipient,
                **with_extra(common, **extra),
            )
            for recipient in destinations(mail)
        ]

    return read


def read_reject(item, mail, common) -> list[DeliveryEvent]:
    reason = text_value(detail_of(item, "reject").get("reason"))
    return [event.replace(diagnostic=reason) for event in per_destination(EventType.DROPPED, None)(item, mail, common)]


def read_rendering_failure(item, mail, common) -> list[DeliveryEvent]:
    failure = detail_of(item, "failure")
    events = per_destination(EventType.DROPPED, None)(item, mail, common)
    message = text_value(failure.get("errorMessage"))
    template = failure.get("templateName")
    return [event.replace(diagnostic=message, extra={**event.extra, "template": template}) for event in events]


def read_subscription(item, mail, common) -> list[DeliveryEvent]:
    """Emit unsubscribed when the recipient opted out of all mail or of a topic; a resubscription is no event."""
    subscription = detail_of(item, "subscription")
    if not opted_out(subscription.get("oldTopicPreferences") or {}, subscription.get("newTopicPreferences") or {}):
        return []
    read = per_destination(
        EventType.UNSUBSCRIBED,
        "subscription",
        {"contact_list": "contactList", "unsubscribe_source": "source"},
    )
    return read(item, mail, common)


def opted_out(old: dict[str, Any], new: dict[str, Any]) -> bool:
    if new.get("unsubscribeAll") and not old.get("unsubscribeAll"):
        return True
    before = {entry.get("topicName"): entry.get("subscriptionStatus") for entry in old.get("topicSubscriptionStatus") or []}
    for entry in new.get("topicSubscriptionStatus") or []:
        if entry.get("subscriptionStatus") == "OptOut" and before.get(entry.get("topicName")) != "OptOut":
            return True
    return False


def addresses_or_fail(values: Any, field: str) -> list[str]:
    found = [address for address in (email_address(value) for value in values or []) if address]
    if not found:
        raise missing_field("SES", field)
    return found


def feedback_event_id(detail: dict[str, Any], item: dict[str, Any], recipient: str | None) -> str:
    """Return SES's feedbackId with the recipient (one feedback covers several recipients), or a derived id."""
    feedback_id = text_value(detail.get("feedbackId"))
    if feedback_id:
        return "%s:%s" % (feedback_id, recipient)
    return stable_event_id(item, recipient)


def with_extra(common: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Return `common` with the non-empty `extra` values added to its `extra` dict."""
    merged = dict(common["extra"])
    merged.update({key: value for key, value in extra.items() if value not in (None, "", [], {})})
    return {**common, "extra": merged}


EVENT_READERS: dict[str, EventReader] = {
    "Send": per_destination(EventType.SENT, "send"),
    "Delivery": read_delivery,
    "Bounce": read_bounce,
    "Complaint": read_complaint,
    "Reject": read_reject,
    "DeliveryDelay": read_delivery_delay,
    "Open": per_destination(EventType.OPENED, "open", {"user_agent": "userAgent", "reader_ip": "ipAddress"}),
    "Click": per_destination(EventType.CLICKED, "click", {"url": "link", "user_agent": "userAgent", "reader_ip": "ipAddress"}),
    "Rendering Failure": read_rendering_failure,
    "RenderingFailure": read_rendering_failure,
    "Subscription": read_subscription,
}

PARSER = ParserSpec(
    kind=KIND,
    description="Amazon SES notifications and event publishing (bare JSON or SNS envelope)",
    sniff=sniff,
    parse=parse,
)
