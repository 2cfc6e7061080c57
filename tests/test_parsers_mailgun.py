"""Mailgun parser: webhooks 2.0, Events API pages and legacy form fields."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.mailgun import PARSER


def webhook(name: str, **fields) -> dict:
    data = {"event": name, "id": "mg-1", "timestamp": 1772445600.25, "recipient": "reader@example.org", **fields}
    return {"signature": {"timestamp": "1772445600", "token": "t", "signature": "00"}, "event-data": data}


def test_mailgun_fixture_permanent_failure_is_hard_bounce():
    result = only_event(PARSER, (FIXTURES / "mailgun" / "failed_permanent.json").read_bytes())
    assert result.type == EventType.BOUNCED
    assert result.hard is True
    assert result.smtp_code == 550
    assert result.enhanced_status == "5.1.1"
    assert result.sending_ip == "192.0.2.40"
    assert result.message_id == "m2@sender.example"
    assert result.relay_host == "mx.example.net"
    assert result.event_id == "mg-1"
    assert result.time == datetime(2026, 3, 2, 10, 0, 0, 500000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("accepted", EventType.SENT),
        ("delivered", EventType.DELIVERED),
        ("rejected", EventType.DROPPED),
        ("opened", EventType.OPENED),
        ("clicked", EventType.CLICKED),
        ("complained", EventType.COMPLAINED),
        ("unsubscribed", EventType.UNSUBSCRIBED),
    ],
)
def test_mailgun_event_names_map_to_types(name, expected):
    assert only_event(PARSER, webhook(name)).type == expected


def test_mailgun_temporary_failure_is_deferred():
    status = {"code": 450, "message": "Greylisted", "attempt-no": 2}
    result = only_event(PARSER, webhook("failed", severity="temporary", **{"delivery-status": status}))
    assert result.type == EventType.DEFERRED
    assert result.smtp_code == 450
    assert result.attempt == 2


def test_mailgun_permanent_policy_block_is_soft():
    status = {"code": 550, "message": "5.7.1 rejected by policy"}
    result = only_event(PARSER, webhook("failed", severity="permanent", reason="bounce", **{"delivery-status": status}))
    assert result.type == EventType.BOUNCED
    assert result.hard is False


def test_mailgun_suppressed_failure_is_dropped():
    result = only_event(PARSER, webhook("failed", severity="permanent", reason="suppress-bounce"))
    assert result.type == EventType.DROPPED


def test_mailgun_retries_exhausted_is_soft_bounce():
    status = {"code": 498, "message": "No MX for example.org"}
    result = only_event(PARSER, webhook("failed", severity="permanent", reason="old", **{"delivery-status": status}))
    assert result.type == EventType.BOUNCED
    assert result.hard is False


def test_mailgun_legacy_form_body_parses():
    result = only_event(PARSER, (FIXTURES / "mailgun" / "legacy_form.txt").read_bytes())
    assert result.type == EventType.BOUNCED
    assert result.recipient == "gone@example.net"
    assert result.hard is True
    assert result.smtp_code == 550


def test_mailgun_legacy_code_holding_enhanced_status():
    payload = {"event": "bounced", "recipient": "gone@example.net", "code": "5.1.1", "error": "smtp;550 5.1.1 not found"}
    result = only_event(PARSER, payload)
    assert result.enhanced_status == "5.1.1"
    assert result.smtp_code == 550


def test_mailgun_legacy_dropped_codes():
    hardfail = only_event(PARSER, {"event": "dropped", "recipient": "a@example.org", "reason": "hardfail", "code": "607"})
    expired = only_event(PARSER, {"event": "dropped", "recipient": "a@example.org", "reason": "old", "code": "499"})
    assert hardfail.type == EventType.DROPPED
    assert hardfail.smtp_code is None
    assert expired.type == EventType.BOUNCED
    assert expired.hard is False


def test_mailgun_events_api_page_reads_items():
    page = {"items": [webhook("delivered")["event-data"], webhook("opened")["event-data"]], "paging": {}}
    events, rejected = run_parser(PARSER, page)
    assert rejected == []
    assert [event.type for event in events] == [EventType.DELIVERED, EventType.OPENED]


def test_mailgun_campaign_from_tags():
    assert only_event(PARSER, webhook("opened", tags=["spring-sale"])).campaign == "spring-sale"


def test_mailgun_unknown_event_rejected_with_field():
    events, rejected = run_parser(PARSER, webhook("teleported"))
    assert events == []
    assert rejected[0].error.field == "event-data.event"


def test_mailgun_signature_only_yields_nothing():
    assert run_parser(PARSER, {"signature": {"timestamp": "1", "token": "t", "signature": "00"}}) == ([], [])


def test_mailgun_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'{"event-data": {"event": "delivered",\n')
    assert caught.value.line is not None
