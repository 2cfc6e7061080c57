"""Mandrill webhook parser."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.mandrill import PARSER


def event(name: str, **msg) -> dict:
    return {"event": name, "ts": 1772445600, "_id": "md-1", "msg": {"_id": "md-1", "email": "reader@example.org", "sender": "news@sender.example", **msg}}


def test_mandrill_fixture_form_field_hard_bounce():
    result = only_event(PARSER, (FIXTURES / "mandrill" / "form.txt").read_bytes())
    assert result.type == EventType.BOUNCED
    assert result.hard is True
    assert result.smtp_code == 550
    assert result.enhanced_status == "5.1.1"
    assert result.campaign == "spring-sale"


def test_mandrill_fixture_array_send_is_delivered():
    assert only_event(PARSER, (FIXTURES / "mandrill" / "array.json").read_bytes()).type == EventType.DELIVERED


@pytest.mark.parametrize(
    "name, expected",
    [
        ("send", EventType.DELIVERED),
        ("deferral", EventType.DEFERRED),
        ("open", EventType.OPENED),
        ("click", EventType.CLICKED),
        ("spam", EventType.COMPLAINED),
        ("unsub", EventType.UNSUBSCRIBED),
        ("reject", EventType.DROPPED),
    ],
)
def test_mandrill_event_names_map(name, expected):
    assert only_event(PARSER, [event(name)]).type == expected


@pytest.mark.parametrize("name, expected_hard", [("hard_bounce", True), ("soft_bounce", False)])
def test_mandrill_bounce_names_set_hard(name, expected_hard):
    result = only_event(PARSER, [event(name, diag="smtp;552 5.2.2 mailbox full")])
    assert result.type == EventType.BOUNCED
    assert result.hard is expected_hard


def test_mandrill_smtp_events_give_sending_ip():
    attempts = [{"ts": 1772445600, "type": "sent", "diag": "250 2.0.0 OK", "source_ip": "192.0.2.70", "destination_ip": "198.51.100.9"}]
    result = only_event(PARSER, [event("send", smtp_events=attempts)])
    assert result.sending_ip == "192.0.2.70"
    assert result.relay_ip == "198.51.100.9"
    assert result.smtp_code == 250


def test_mandrill_sync_event_yields_nothing():
    payload = [{"type": "blacklist", "action": "add", "reject": {"email": "reader@example.org", "reason": "hard-bounce"}}]
    assert run_parser(PARSER, payload) == ([], [])


def test_mandrill_bad_item_rejected_rest_parsed():
    payload = [event("send"), {"event": "teleport"}, {"event": "open", "msg": {}}]
    events, rejected = run_parser(PARSER, payload)
    assert [item.type for item in events] == [EventType.DELIVERED]
    assert [problem.error.field for problem in rejected] == ["[1].event", "[2].msg.email"]


def test_mandrill_invalid_json_in_form_field_raises():
    body = "mandrill_events=" + urllib.parse.quote_plus(json.dumps([event("send")])[:30])
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, body)
    assert caught.value.field == "mandrill_events"


def test_mandrill_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'[{"event": "send",\n"msg": {')
    assert caught.value.line == 2
