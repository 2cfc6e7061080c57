"""Postmark webhook parser."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.postmark import PARSER


def bounce(bounce_type: str, **fields) -> dict:
    return {"RecordType": "Bounce", "ID": 7, "Type": bounce_type, "Email": "gone@example.net", "BouncedAt": "2026-03-02T10:00:00Z", **fields}


def subscription_change(**fields) -> dict:
    return {"RecordType": "SubscriptionChange", "Recipient": "reader@example.org", "ChangedAt": "2026-03-02T10:00:00Z", **fields}


def test_postmark_fixture_hard_bounce():
    result = only_event(PARSER, (FIXTURES / "postmark" / "hard_bounce.json").read_bytes())
    assert result.type == EventType.BOUNCED
    assert result.hard is True
    assert result.smtp_code == 550
    assert result.enhanced_status == "5.1.1"
    assert result.campaign == "spring-sale"
    assert result.message_id == "pm-1"
    assert result.event_id == "Bounce:42"
    # Seven fractional digits and a -05:00 offset, converted to UTC.
    assert result.time == datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "bounce_type, expected_type, expected_hard",
    [
        ("HardBounce", EventType.BOUNCED, True),
        ("SoftBounce", EventType.BOUNCED, False),
        ("Transient", EventType.BOUNCED, False),
        ("SpamNotification", EventType.BOUNCED, False),
        ("DnsError", EventType.BOUNCED, False),
        ("BadEmailAddress", EventType.DROPPED, None),
        ("ManuallyDeactivated", EventType.DROPPED, None),
        ("Unsubscribe", EventType.UNSUBSCRIBED, None),
    ],
)
def test_postmark_bounce_types_map(bounce_type, expected_type, expected_hard):
    result = only_event(PARSER, bounce(bounce_type))
    assert result.type == expected_type
    assert result.hard is expected_hard


@pytest.mark.parametrize("bounce_type", ["AutoResponder", "Subscribe", "AddressChange", "ChallengeVerification"])
def test_postmark_reply_bounce_types_yield_nothing(bounce_type):
    assert run_parser(PARSER, bounce(bounce_type)) == ([], [])


def test_postmark_unknown_bounce_type_classified():
    result = only_event(PARSER, bounce("BrandNewType", Details="550 5.1.1 unknown user"))
    assert result.type == EventType.BOUNCED
    assert result.hard is True


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"RecordType": "Delivery", "Recipient": "a@example.org", "DeliveredAt": "2026-03-02T10:00:00Z"}, EventType.DELIVERED),
        ({"RecordType": "SpamComplaint", "Email": "a@example.org", "BouncedAt": "2026-03-02T10:00:00Z"}, EventType.COMPLAINED),
        ({"RecordType": "Open", "Recipient": "a@example.org", "FirstOpen": True}, EventType.OPENED),
        ({"RecordType": "Click", "Recipient": "a@example.org", "OriginalLink": "https://example.org/"}, EventType.CLICKED),
    ],
    ids=["delivery", "spam-complaint", "open", "click"],
)
def test_postmark_record_types_map(record, expected):
    result = only_event(PARSER, record)
    assert result.type == expected
    assert result.recipient == "a@example.org"


def test_postmark_recipient_unsubscribe_is_unsubscribed():
    result = only_event(PARSER, subscription_change(SuppressSending=True, SuppressionReason="ManualSuppression", Origin="Recipient"))
    assert result.type == EventType.UNSUBSCRIBED


@pytest.mark.parametrize(
    "fields",
    [
        {"SuppressSending": False, "SuppressionReason": None, "Origin": "Recipient"},
        {"SuppressSending": True, "SuppressionReason": "HardBounce", "Origin": "Recipient"},
        {"SuppressSending": True, "SuppressionReason": "ManualSuppression", "Origin": "Customer"},
    ],
    ids=["resubscribe", "hard-bounce-suppression", "customer-suppression"],
)
def test_postmark_other_subscription_changes_yield_nothing(fields):
    assert run_parser(PARSER, subscription_change(**fields)) == ([], [])


def test_postmark_unknown_record_type_rejected():
    events, rejected = run_parser(PARSER, [bounce("HardBounce"), {"RecordType": "Teleport"}])
    assert len(events) == 1
    assert rejected[0].error.field == "[1].RecordType"


def test_postmark_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'{"RecordType": "Bounce",\n"Type": ')
    assert caught.value.line == 2
