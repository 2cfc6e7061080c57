"""Resend webhook parser."""

from __future__ import annotations

import pytest

from esp_support import FIXTURES, only_event, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import EventType
from inboxwatch.parsers.resend import PARSER


def event(name: str, **data) -> dict:
    body = {"email_id": "rs-1", "from": "News <news@sender.example>", "to": ["reader@example.org"], **data}
    return {"type": name, "created_at": "2026-03-02T10:00:00.000Z", "data": body}


def test_resend_fixture_permanent_bounce_is_hard():
    result = only_event(PARSER, (FIXTURES / "resend" / "bounced.json").read_bytes())
    assert result.type == EventType.BOUNCED
    assert result.hard is True
    assert result.smtp_code == 550
    assert result.message_id == "rs-1"
    assert result.sender == "news@sender.example"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("email.sent", EventType.SENT),
        ("email.delivered", EventType.DELIVERED),
        ("email.delivery_delayed", EventType.DEFERRED),
        ("email.complained", EventType.COMPLAINED),
        ("email.opened", EventType.OPENED),
        ("email.clicked", EventType.CLICKED),
        ("email.failed", EventType.DROPPED),
        ("email.suppressed", EventType.DROPPED),
    ],
)
def test_resend_event_names_map(name, expected):
    assert only_event(PARSER, event(name)).type == expected


@pytest.mark.parametrize(
    "bounce, expected_type, expected_hard",
    [
        ({"type": "Transient", "message": "mailbox full"}, EventType.BOUNCED, False),
        ({"message": "The provider sent a hard bounce message"}, EventType.BOUNCED, True),
        ({"type": "Permanent", "subType": "Suppressed", "message": "on the suppression list"}, EventType.DROPPED, None),
        ({"message": "Resend has suppressed sending to this address"}, EventType.DROPPED, None),
    ],
    ids=["transient", "hard-in-message", "suppressed-subtype", "suppressed-in-message"],
)
def test_resend_bounce_verdicts(bounce, expected_type, expected_hard):
    result = only_event(PARSER, event("email.bounced", bounce=bounce))
    assert result.type == expected_type
    assert result.hard is expected_hard


def test_resend_one_event_per_recipient_without_display_name():
    events, rejected = run_parser(PARSER, event("email.sent", to=["Reader <reader@example.org>", "second@example.org"]))
    assert rejected == []
    assert [item.recipient for item in events] == ["reader@example.org", "second@example.org"]
    assert events[0].event_id != events[1].event_id


def test_resend_campaign_from_tag_list():
    result = only_event(PARSER, event("email.sent", tags=[{"name": "campaign", "value": "spring-sale"}]))
    assert result.campaign == "spring-sale"


def test_resend_non_email_events_yield_nothing():
    assert run_parser(PARSER, {"type": "contact.created", "data": {}}) == ([], [])


def test_resend_signing_vector_yields_nothing():
    payload = {"secret": "whsec_x", "headers": {"svix-id": "msg_1"}, "body": "{}"}
    assert run_parser(PARSER, payload) == ([], [])


def test_resend_unknown_type_rejected():
    events, rejected = run_parser(PARSER, event("email.teleported"))
    assert events == []
    assert rejected[0].error.field == "type"
    assert "email.delivered" in rejected[0].error.message


def test_resend_truncated_json_raises_with_line():
    with pytest.raises(ParseError) as caught:
        run_parser(PARSER, b'{"type": "email.sent",\n"data": {')
    assert caught.value.line == 2
