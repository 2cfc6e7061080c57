"""Brevo (Sendinblue) webhook parser."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.brevo import PARSER


def event(name: str, **fields) -> dict:
    return {"event": name, "email": "reader@example.org", "ts_epoch": 1772445600000, "message-id": "<m1@sender.example>", **fields}


def test_brevo_fixture_hard_bounce():
    result = only_event(PARSER, (FIXTURES / "brevo" / "hard_bounce.json").read_bytes())
    assert result.type == EventType.BOUNCED
    assert result.hard is True
    assert result.smtp_code == 550
    assert result.enhanced_status == "5.1.1"
    assert result.message_id == "m3@sender.example"
    assert result.sending_ip == "192.0.2.60"
    assert result.campaign == "spring-sale"
    # ts_event (seconds) wins over ts_epoch (milliseconds).
    assert result.time == datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("request", EventType.SENT),
        ("delivered", EventType.DELIVERED),
        ("deferred", EventType.DEFERRED),
        ("blocked", EventType.DROPPED),
        ("invalid_email", EventType.DROPPED),
        ("error", EventType.DROPPED),
        ("spam", EventType.COMPLAINED),
        ("complaint", EventType.COMPLAINED),
        ("opened", EventType.OPENED),
        ("unique_opened", EventType.OPENED),
        ("click", EventType.CLICKED),
        ("unsubscribed", EventType.UNSUBSCRIBED),
    ],
)
def test_brevo_event_names_map(name, expected):
    assert only_event(PARSER, event(name)).type == expected


@pytest.mark.parametrize("name, expected_hard", [("hard_bounce", True), ("soft_bounce", False)])
def test_brevo_bounce_names_set_hard(name, expected_hard):
    result = only_event(PARSER, event(name, reason="Unable to find MX of domain"))
    assert result.type == EventType.BOUNCED
    assert result.hard is expected_hard


def test_brevo_deferred_keeps_type_for_5xx_reply():
    result = only_event(PARSER, event("deferred", reason="550 RecipientError: 550 5.1.1 user unknown"))
    assert result.type == EventType.DEFERRED
    assert result.smtp_code == 550
    assert result.hard is None


@pytest.mark.parametrize("name", ["proxy_open", "unique_proxy_open"])
def test_brevo_proxy_opens_marked(name):
    result = only_event(PARSER, event(name))
    assert result.type == EventType.OPENED
    assert result.extra["proxy_open"] is True


@pytest.mark.parametrize(
    "ts_epoch, expected",
    [
        (1772445600000, datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)),
        (1772445600, datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)),
    ],
    ids=["milliseconds", "seconds"],
)
def test_brevo_ts_epoch_in_either_unit(ts_epoch, expected):
    assert only_event(PARSER, event("delivered", ts_epoch=ts_epoch)).time == expected


def test_brevo_tag_as_json_text():
    assert only_event(PARSER, event("request", tag='["welcome", "b"]')).campaign == "welcome"


def test_brevo_unknown_event_rejected_rest_parsed():
    events, rejected = run_parser(PARSER, [event("delivered"), event("teleported")])
    assert len(events) == 1
    assert rejected[0].error.field == "[1].event"


def test_brevo_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'{"event": "delivered",\n"email": ')
    assert caught.value.line == 2
