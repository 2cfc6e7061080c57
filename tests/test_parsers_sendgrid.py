"""SendGrid Event Webhook parser."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.sendgrid import PARSER

BASE = {"email": "reader@example.org", "timestamp": 1772445600, "sg_event_id": "sg-1", "smtp-id": "<m1@sender.example>"}


def item(name: str, **fields) -> dict:
    return {**BASE, "event": name, **fields}


def test_sendgrid_fixture_batch_gives_three_events():
    events, rejected = run_parser(PARSER, (FIXTURES / "sendgrid" / "batch.json").read_bytes())
    assert rejected == []
    assert [event.type for event in events] == [EventType.SENT, EventType.DELIVERED, EventType.BOUNCED]
    assert events[0].campaign == "welcome"
    assert events[0].extra["categories"] == ["welcome", "onboarding"]
    assert events[1].sending_ip == "192.0.2.30"
    assert events[2].hard is True


@pytest.mark.parametrize(
    "name, expected",
    [
        ("processed", EventType.SENT),
        ("dropped", EventType.DROPPED),
        ("delivered", EventType.DELIVERED),
        ("deferred", EventType.DEFERRED),
        ("open", EventType.OPENED),
        ("click", EventType.CLICKED),
        ("spamreport", EventType.COMPLAINED),
        ("unsubscribe", EventType.UNSUBSCRIBED),
        ("group_unsubscribe", EventType.UNSUBSCRIBED),
    ],
)
def test_sendgrid_event_names_map_to_types(name, expected):
    assert only_event(PARSER, [item(name)]).type == expected


def test_sendgrid_group_resubscribe_yields_nothing():
    assert run_parser(PARSER, [item("group_resubscribe", asm_group_id=3)]) == ([], [])


@pytest.mark.parametrize(
    "bounce_type, expected_hard",
    [("bounce", True), ("blocked", False), (None, True)],
    ids=["bounce-hard", "blocked-soft", "no-type-hard"],
)
def test_sendgrid_bounce_type_sets_hard(bounce_type, expected_hard):
    fields = {"reason": "550 5.7.1 blocked by policy", "status": "5.7.1"}
    if bounce_type:
        fields["type"] = bounce_type
    result = only_event(PARSER, [item("bounce", **fields)])
    assert result.type == EventType.BOUNCED
    assert result.hard is expected_hard
    assert result.smtp_code == 550
    assert result.enhanced_status == "5.7.1"


def test_sendgrid_dropped_keeps_reason_without_hard():
    result = only_event(PARSER, [item("dropped", reason="Bounced Address", status="5.0.0")])
    assert result.diagnostic == "Bounced Address"
    assert result.enhanced_status == "5.0.0"
    assert result.hard is None


def test_sendgrid_deferred_reads_response_and_attempt():
    result = only_event(PARSER, [item("deferred", response="421 4.7.0 try again later", attempt="3", ip="192.0.2.30")])
    assert result.smtp_code == 421
    assert result.attempt == 3
    assert result.sending_ip == "192.0.2.30"


def test_sendgrid_open_ip_is_reader_not_sender():
    result = only_event(PARSER, [item("open", ip="198.51.100.20")])
    assert result.sending_ip is None
    assert result.extra["reader_ip"] == "198.51.100.20"


def test_sendgrid_milliseconds_timestamp_read_as_ms():
    result = only_event(PARSER, [item("open", timestamp=1772445600123)])
    assert result.time == datetime(2026, 3, 2, 10, 0, 0, 123000, tzinfo=timezone.utc)


def test_sendgrid_single_object_and_capitalised_name():
    result = only_event(PARSER, item("Processed", timestamp="1772445600"))
    assert result.type == EventType.SENT
    assert result.time == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def test_sendgrid_ids_come_from_payload():
    result = only_event(PARSER, [item("delivered")])
    assert result.event_id == "sg-1"
    assert result.message_id == "m1@sender.example"


def test_sendgrid_event_without_id_gets_stable_id():
    payload = [{"email": "reader@example.org", "timestamp": 1772445600, "event": "open"}]
    first = only_event(PARSER, payload)
    second = only_event(PARSER, payload)
    assert first.event_id == second.event_id
    assert len(first.event_id) == 32


def test_sendgrid_unknown_event_rejected_rest_parsed():
    events, rejected = run_parser(PARSER, [item("processed"), item("teleported"), {"email": "x@example.org"}])
    assert [event.type for event in events] == [EventType.SENT]
    assert [problem.error.field for problem in rejected] == ["[1].event", "[2].event"]
    assert "'teleported'" in rejected[0].error.message


def test_sendgrid_signing_vector_yields_nothing():
    payload = {"public_key_b64_der": "MFkw", "header_X-Twilio-Email-Event-Webhook-Signature": "MEUC", "payload_file": "body.bin"}
    assert run_parser(PARSER, payload) == ([], [])


def test_sendgrid_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'[{"email": "reader@example.org",\n "event": "open", ')
    assert caught.value.line == 2
