"""Amazon SES parser: notifications, event publishing, SNS envelopes and bad input."""

from __future__ import annotations

import copy
import io
import json
from datetime import datetime, timezone

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.ses import PARSER

MAIL = {
    "timestamp": "2026-03-02T10:00:00.000Z",
    "messageId": "msg-1",
    "source": "News <news@sender.example>",
    "sourceIp": "203.0.113.9",
    "destination": ["reader@example.org"],
    "tags": {"ses:outgoing-ip": ["192.0.2.25"], "campaign": ["spring-sale"], "tenant": ["acme"]},
}


def event(event_type: str, key: str | None = None, detail: dict | None = None, field: str = "eventType") -> dict:
    payload = {field: event_type, "mail": copy.deepcopy(MAIL)}
    if key:
        payload[key] = detail or {}
    return payload


def bounce(bounce_type: str, subtype: str = "General", **recipient) -> dict:
    entry = {"emailAddress": "reader@example.org", **recipient}
    detail = {"bounceType": bounce_type, "bounceSubType": subtype, "bouncedRecipients": [entry], "feedbackId": "fb-1"}
    return event("Bounce", "bounce", detail, field="notificationType")


def sns(message: dict, sns_type: str = "Notification") -> dict:
    return {"Type": sns_type, "MessageId": "sns-1", "TopicArn": "arn:aws:sns:eu-west-1:111122223333:t", "Message": json.dumps(message)}


def test_ses_sns_fixture_bounce_is_hard():
    payload = (FIXTURES / "ses" / "sns_bounce.json").read_bytes()
    result = only_event(PARSER, payload)
    assert result.type == EventType.BOUNCED
    assert result.hard is True
    assert result.recipient == "gone@example.net"
    assert result.smtp_code == 550
    assert result.enhanced_status == "5.1.1"
    assert result.bounce_reason == "userunknown"
    assert result.time == datetime(2026, 3, 2, 10, 0, 5, tzinfo=timezone.utc)
    assert result.event_id == "fb-0001:gone@example.net"


def test_ses_mail_fields_fill_event():
    result = only_event(PARSER, event("Send", "send"))
    assert result.type == EventType.SENT
    assert result.message_id == "msg-1"
    assert result.sender == "news@sender.example"
    assert result.sending_ip == "192.0.2.25"
    assert result.sending_domain == "sender.example"
    assert result.campaign == "spring-sale"
    assert result.tenant == "acme"
    # mail.sourceIp is the API caller, kept apart from the sending IP.
    assert result.extra["client_ip"] == "203.0.113.9"


def test_ses_bare_and_wrapped_give_same_event():
    bare = only_event(PARSER, bounce("Permanent"))
    wrapped = only_event(PARSER, sns(bounce("Permanent")))
    assert bare == wrapped


def test_ses_sns_subscription_confirmation_yields_nothing():
    payload = {"Type": "SubscriptionConfirmation", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "confirm", "SubscribeURL": "https://x.invalid/"}
    assert run_parser(PARSER, payload) == ([], [])


def test_ses_received_notification_yields_nothing():
    payload = {"notificationType": "Received", "receipt": {"recipients": ["me@example.org"]}, "mail": MAIL}
    assert run_parser(PARSER, payload) == ([], [])


@pytest.mark.parametrize(
    "bounce_type, expected_hard",
    [("Permanent", True), ("Transient", False)],
    ids=["permanent-hard", "transient-soft"],
)
def test_ses_bounce_type_sets_hard(bounce_type, expected_hard):
    result = only_event(PARSER, bounce(bounce_type, status="5.1.1"))
    assert result.type == EventType.BOUNCED
    assert result.hard is expected_hard


def test_ses_undetermined_bounce_uses_classifier():
    result = only_event(PARSER, bounce("Undetermined", "Undetermined", diagnosticCode="smtp; 550 5.1.1 unknown user"))
    assert result.hard is True
    assert result.bounce_reason == "userunknown"


def test_ses_unknown_bounce_subtype_still_parses():
    result = only_event(PARSER, bounce("Transient", "SomethingNew", status="4.2.2"))
    assert result.hard is False
    assert result.extra["bounce_subtype"] == "SomethingNew"


@pytest.mark.parametrize("subtype", ["Suppressed", "OnAccountSuppressionList"])
def test_ses_suppression_bounce_is_dropped(subtype):
    result = only_event(PARSER, bounce("Permanent", subtype, status="5.1.1", diagnosticCode="Amazon SES did not send"))
    assert result.type == EventType.DROPPED
    assert result.hard is None
    assert result.enhanced_status == "5.1.1"


def test_ses_bounce_one_event_per_recipient():
    payload = bounce("Permanent")
    payload["bounce"]["bouncedRecipients"].append({"emailAddress": "second@example.org"})
    events, rejected = run_parser(PARSER, payload)
    assert rejected == []
    assert [item.recipient for item in events] == ["reader@example.org", "second@example.org"]
    assert len({item.event_id for item in events}) == 2


def test_ses_complaint_uses_complained_recipients():
    detail = {"complainedRecipients": [{"emailAddress": "angry@example.org"}], "complaintFeedbackType": "abuse", "timestamp": "2026-03-02T11:00:00Z"}
    result = only_event(PARSER, event("Complaint", "complaint", detail, field="notificationType"))
    assert result.type == EventType.COMPLAINED
    assert result.recipient == "angry@example.org"
    assert result.extra["feedback_type"] == "abuse"


def test_ses_complaint_without_feedback_report():
    detail = {"complainedRecipients": [{"emailAddress": "angry@example.org"}], "complaintSubType": None}
    result = only_event(PARSER, event("Complaint", "complaint", detail))
    assert result.type == EventType.COMPLAINED
    assert "feedback_type" not in result.extra


def test_ses_delivery_reads_smtp_response():
    result = only_event(PARSER, (FIXTURES / "ses" / "delivery_event.json").read_bytes())
    assert result.type == EventType.DELIVERED
    assert result.smtp_code == 250
    assert result.enhanced_status == "2.0.0"
    assert result.relay_ip == "198.51.100.8"


def test_ses_delivery_delay_is_deferred():
    detail = {
        "delayType": "TransientCommunicationFailure",
        "delayedRecipients": [{"emailAddress": "reader@example.org", "status": "4.4.1", "diagnosticCode": "smtp; 421 4.4.1 timed out"}],
    }
    result = only_event(PARSER, event("DeliveryDelay", "deliveryDelay", detail))
    assert result.type == EventType.DEFERRED
    assert result.smtp_code == 421
    assert result.enhanced_status == "4.4.1"


@pytest.mark.parametrize(
    "event_type, key, expected",
    [
        ("Reject", "reject", EventType.DROPPED),
        ("Rendering Failure", "failure", EventType.DROPPED),
        ("Open", "open", EventType.OPENED),
        ("Click", "click", EventType.CLICKED),
    ],
    ids=["reject", "rendering-failure", "open", "click"],
)
def test_ses_destination_events_map_to_types(event_type, key, expected):
    result = only_event(PARSER, event(event_type, key, {"timestamp": "2026-03-02T12:00:00Z"}))
    assert result.type == expected
    assert result.recipient == "reader@example.org"


def test_ses_subscription_opt_out_is_unsubscribed():
    detail = {"newTopicPreferences": {"unsubscribeAll": True}, "oldTopicPreferences": {"unsubscribeAll": False}}
    result = only_event(PARSER, event("Subscription", "subscription", detail))
    assert result.type == EventType.UNSUBSCRIBED


def test_ses_subscription_opt_in_yields_nothing():
    detail = {
        "newTopicPreferences": {"unsubscribeAll": False, "topicSubscriptionStatus": [{"topicName": "news", "subscriptionStatus": "OptIn"}]},
        "oldTopicPreferences": {"unsubscribeAll": False, "topicSubscriptionStatus": [{"topicName": "news", "subscriptionStatus": "OptOut"}]},
    }
    assert run_parser(PARSER, event("Subscription", "subscription", detail)) == ([], [])


def test_ses_unknown_type_rejected_rest_parsed():
    payload = [event("Send", "send"), event("Teleport", "teleport"), event("Open", "open")]
    events, rejected = run_parser(PARSER, payload)
    assert [item.type for item in events] == [EventType.SENT, EventType.OPENED]
    assert len(rejected) == 1
    error = rejected[0].error
    assert error.field == "[1].eventType"
    assert "'Teleport'" in error.message
    assert "Rendering Failure" in error.message


def test_ses_invalid_sns_message_rejected():
    payload = {"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": "{not json"}
    events, rejected = run_parser(PARSER, payload)
    assert events == []
    assert rejected[0].error.field == "Message"


def test_ses_truncated_json_raises_with_line():
    text = json.dumps(bounce("Permanent"), indent=2)
    with pytest.raises(ParseError) as caught:
        list(PARSER.parse(io.BytesIO(text[: len(text) // 2].encode()), ParseContext(source="cut.json")))
    assert caught.value.line is not None
    assert caught.value.source == "cut.json"


def test_ses_json_lines_stream_parses_each_document():
    lines = "\n".join(json.dumps(event(name, key)) for name, key in (("Send", "send"), ("Open", "open")))
    events, rejected = run_parser(PARSER, lines)
    assert rejected == []
    assert [item.type for item in events] == [EventType.SENT, EventType.OPENED]


def test_ses_sns_message_already_decoded():
    payload = {"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:1:t", "Message": bounce("Permanent")}
    assert only_event(PARSER, payload).hard is True
