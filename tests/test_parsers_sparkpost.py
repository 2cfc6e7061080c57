"""SparkPost webhook parser."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.sparkpost import PARSER


def wrapped(event_class: str, event_type: str, **fields) -> list:
    event = {"type": event_type, "event_id": "sp-1", "rcpt_to": "reader@example.org", "timestamp": "1772445600", **fields}
    return [{"msys": {event_class: event}}]


def test_sparkpost_fixture_batch():
    events, rejected = run_parser(PARSER, (FIXTURES / "sparkpost" / "batch.json").read_bytes())
    assert rejected == []
    assert [event.type for event in events] == [EventType.BOUNCED, EventType.OPENED]
    bounce = events[0]
    assert bounce.hard is True
    assert bounce.smtp_code == 550
    assert bounce.enhanced_status == "5.1.1"
    assert bounce.sending_ip == "192.0.2.50"
    assert bounce.campaign == "spring-sale"
    assert bounce.time == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "event_class, event_type, expected",
    [
        ("message_event", "injection", EventType.SENT),
        ("message_event", "delivery", EventType.DELIVERED),
        ("message_event", "delay", EventType.DEFERRED),
        ("message_event", "policy_rejection", EventType.DROPPED),
        ("message_event", "spam_complaint", EventType.COMPLAINED),
        ("message_event", "generation_failure", EventType.DROPPED),
        ("gen_event", "generation_rejection", EventType.DROPPED),
        ("track_event", "open", EventType.OPENED),
        ("track_event", "initial_open", EventType.OPENED),
        ("track_event", "amp_open", EventType.OPENED),
        ("track_event", "amp_initial_open", EventType.OPENED),
        ("track_event", "click", EventType.CLICKED),
        ("track_event", "amp_click", EventType.CLICKED),
        ("unsubscribe_event", "list_unsubscribe", EventType.UNSUBSCRIBED),
        ("unsubscribe_event", "link_unsubscribe", EventType.UNSUBSCRIBED),
    ],
)
def test_sparkpost_event_types_map(event_class, event_type, expected):
    assert only_event(PARSER, wrapped(event_class, event_type)).type == expected


@pytest.mark.parametrize(
    "bounce_class, expected_type, expected_hard",
    [
        ("10", EventType.BOUNCED, True),
        ("30", EventType.BOUNCED, True),
        ("21", EventType.BOUNCED, False),
        ("22", EventType.BOUNCED, False),
        ("51", EventType.BOUNCED, False),
        ("25", EventType.DROPPED, None),
        ("90", EventType.UNSUBSCRIBED, None),
    ],
)
def test_sparkpost_bounce_classes_map(bounce_class, expected_type, expected_hard):
    result = only_event(PARSER, wrapped("message_event", "bounce", bounce_class=bounce_class))
    assert result.type == expected_type
    assert result.hard is expected_hard


@pytest.mark.parametrize("bounce_class", ["60", "80", "100"], ids=["auto-reply", "subscribe", "challenge-response"])
def test_sparkpost_reply_bounce_classes_yield_nothing(bounce_class):
    assert run_parser(PARSER, wrapped("message_event", "bounce", bounce_class=bounce_class)) == ([], [])


def test_sparkpost_out_of_band_uses_bounce_class():
    result = only_event(PARSER, wrapped("message_event", "out_of_band", bounce_class="10"))
    assert result.type == EventType.BOUNCED
    assert result.hard is True


def test_sparkpost_relay_event_yields_nothing():
    assert run_parser(PARSER, wrapped("relay_event", "relay_delivery")) == ([], [])


def test_sparkpost_ping_yields_nothing():
    assert run_parser(PARSER, [{"msys": {}}]) == ([], [])


def test_sparkpost_iso_timestamp_read():
    result = only_event(PARSER, wrapped("message_event", "delivery", timestamp="2026-03-02T10:00:00.000+00:00"))
    assert result.time == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def test_sparkpost_unknown_type_rejected_rest_parsed():
    payload = wrapped("message_event", "delivery") + wrapped("message_event", "teleport")
    events, rejected = run_parser(PARSER, payload)
    assert [event.type for event in events] == [EventType.DELIVERED]
    assert rejected[0].error.field == "[1].msys.message_event.type"


def test_sparkpost_events_api_page_reads_results():
    page = {"results": [{"type": "delivery", "rcpt_to": "a@example.org", "timestamp": "1772445600"}]}
    assert only_event(PARSER, page).type == EventType.DELIVERED


def test_sparkpost_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'[{"msys": {"message_event":\n{"type": "delivery"')
    assert caught.value.line == 2
