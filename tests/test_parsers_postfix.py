"""The Postfix log parser: correlation by queue id and which lines become events."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linestream import LineStream

from inboxwatch.model import DeliveryEvent, EventType, Rejected
from inboxwatch.parsers import postfix
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.registry import detect

REFERENCE = datetime(2025, 1, 2, 12, 0, tzinfo=timezone.utc)

# One outbound message, two recipients, both delivered.
TWO_RECIPIENTS = """\
Mar  3 10:00:00 mx1 postfix/pickup[101]: 4ABC1: uid=1001 from=<news@shop.example>
Mar  3 10:00:00 mx1 postfix/cleanup[102]: 4ABC1: message-id=<m1@shop.example>
Mar  3 10:00:01 mx1 postfix/qmgr[103]: 4ABC1: from=<news@shop.example>, size=1234, nrcpt=2 (queue active)
Mar  3 10:00:02 mx1 postfix/smtp[104]: 4ABC1: to=<alice@gmail.example>, relay=mx.gmail.example[192.0.2.10]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK 1700000000 x1-v6si gsmtp)
Mar  3 10:00:02 mx1 postfix/smtp[104]: 4ABC1: to=<bob@gmail.example>, relay=mx.gmail.example[192.0.2.10]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK 1700000001 x2-v6si gsmtp)
Mar  3 10:00:03 mx1 postfix/qmgr[103]: 4ABC1: removed
"""

# A submission goes through amavis on 127.0.0.1:10024 and comes back as a
# new queue file, which is delivered remotely. The DSN goes to a mailbox by LMTP.
AMAVIS_THEN_BOUNCE = """\
Jun  3 10:40:58 mx1 postfix/submission/smtpd[200]: 11AAA1: client=laptop.shop.example[198.51.100.7], sasl_method=PLAIN
Jun  3 10:40:58 mx1 postfix/cleanup[201]: 11AAA1: message-id=<m2@shop.example>
Jun  3 10:40:58 mx1 postfix/qmgr[202]: 11AAA1: from=<ann@shop.example>, size=900, nrcpt=1 (queue active)
Jun  3 10:40:59 mx1 postfix/smtpd[210]: 22BBB2: client=localhost[127.0.0.1]
Jun  3 10:40:59 mx1 postfix/cleanup[201]: 22BBB2: message-id=<m2@shop.example>
Jun  3 10:40:59 mx1 postfix/qmgr[202]: 22BBB2: from=<ann@shop.example>, size=1300, nrcpt=1 (queue active)
Jun  3 10:40:59 mx1 postfix/smtp[203]: 11AAA1: to=<gone@remote.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.6, delays=0.1/0/0/0.5, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 22BBB2)
Jun  3 10:40:59 mx1 postfix/qmgr[202]: 11AAA1: removed
Jun  3 10:41:00 mx1 postfix/smtp[204]: 22BBB2: to=<gone@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=0.4, delays=0/0/0.2/0.2, dsn=5.1.1, status=bounced (host mx.remote.example[203.0.113.5] said: 550 5.1.1 <gone@remote.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Jun  3 10:41:00 mx1 postfix/cleanup[201]: 33CCC3: message-id=<dsn1@mx1.shop.example>
Jun  3 10:41:00 mx1 postfix/qmgr[202]: 33CCC3: from=<>, size=3000, nrcpt=1 (queue active)
Jun  3 10:41:00 mx1 postfix/bounce[205]: 22BBB2: sender non-delivery notification: 33CCC3
Jun  3 10:41:00 mx1 postfix/qmgr[202]: 22BBB2: removed
Jun  3 10:41:00 mx1 postfix/lmtp[206]: 33CCC3: to=<ann@shop.example>, relay=mail.shop.example[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <ann@shop.example> Saved)
Jun  3 10:41:00 mx1 postfix/qmgr[202]: 33CCC3: removed
"""

# 452 over quota twice, then qmgr gives up: one soft bounce for the recipient still queued.
DEFERRED_THEN_EXPIRED = """\
Sep 25 18:26:34 mx1 postfix/qmgr[300]: 55EEE5: from=<ann@shop.example>, size=312, nrcpt=2 (queue active)
Sep 25 18:26:36 mx1 postfix/smtp[301]: 55EEE5: to=<full@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=2, delays=0.1/0/1.6/0.2, dsn=4.2.2, status=deferred (host mx.remote.example[203.0.113.5] said: 452 4.2.2 <full@remote.example> mailbox full (in reply to RCPT TO command))
Sep 25 18:26:36 mx1 postfix/smtp[301]: 55EEE5: to=<ok@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=2, delays=0.1/0/1.6/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)
Sep 30 20:46:06 mx1 postfix/qmgr[300]: 55EEE5: from=<ann@shop.example>, size=312, nrcpt=2 (queue active)
Sep 30 20:46:08 mx1 postfix/smtp[302]: 55EEE5: to=<full@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=440374, delays=440372/0/1.6/0.8, dsn=4.2.2, status=deferred (host mx.remote.example[203.0.113.5] said: 452 4.2.2 <full@remote.example> mailbox full (in reply to RCPT TO command))
Sep 30 20:46:08 mx1 postfix/qmgr[300]: 55EEE5: from=<ann@shop.example>, status=expired, returned to sender
Sep 30 20:46:08 mx1 postfix/qmgr[300]: 55EEE5: removed
"""


def parse_all(text: str, **context_fields) -> tuple[list[DeliveryEvent], list[Rejected]]:
    context = ParseContext(source="test.log", reference_time=REFERENCE, **context_fields)
    items = list(postfix.PARSER.parse(io.BytesIO(text.encode()), context))
    events = [item for item in items if isinstance(item, DeliveryEvent)]
    rejected = [item for item in items if isinstance(item, Rejected)]
    return events, rejected


def run_parser(text: str, **options) -> tuple[postfix.PostfixLogParser, list]:
    """Feed lines one by one, so a test can look at the parser's counters and open state."""
    parser = postfix.PostfixLogParser(ParseContext(source="test.log", reference_time=REFERENCE), **options)
    items: list = []
    for number, line in enumerate(text.splitlines(), start=1):
        items.extend(parser.feed(number, line) or ())
    items.extend(parser.finish())
    return parser, items


def of_type(events: list[DeliveryEvent], event_type: EventType) -> list[DeliveryEvent]:
    return [event for event in events if event.type is event_type]


def test_postfix_delivery_fields():
    events, rejected = parse_all(TWO_RECIPIENTS)
    delivered = of_type(events, EventType.DELIVERED)
    assert rejected == []
    first = delivered[0]
    assert first.queue_id == "4ABC1"
    assert first.recipient == "alice@gmail.example"
    assert first.sender == "news@shop.example"
    assert first.message_id == "m1@shop.example"
    assert first.relay_host == "mx.gmail.example"
    assert first.relay_ip == "192.0.2.10"
    assert first.smtp_code == 250
    assert first.enhanced_status == "2.0.0"
    assert first.diagnostic == "250 2.0.0 OK 1700000000 x1-v6si gsmtp"
    assert first.time == datetime(2024, 3, 3, 10, 0, 2, tzinfo=timezone.utc)
    assert first.source == "postfix"
    assert first.hard is None


def test_postfix_multi_recipient_no_sent_event():
    events, _ = parse_all(TWO_RECIPIENTS)
    assert of_type(events, EventType.SENT) == []
    assert [event.type for event in events] == [EventType.DELIVERED, EventType.DELIVERED]
    assert [event.recipient for event in events] == ["alice@gmail.example", "bob@gmail.example"]


def test_postfix_multi_recipient_correlation_on_each_delivery():
    events, _ = parse_all(TWO_RECIPIENTS)
    for event in events:
        assert event.queue_id == "4ABC1"
        assert event.sender == "news@shop.example"
        assert event.message_id == "m1@shop.example"


@pytest.mark.parametrize(
    "program, instance",
    [
        pytest.param("postfix", "postfix", id="default"),
        pytest.param("postfix-out1", "postfix-out1", id="named-instance"),
    ],
)
def test_postfix_instance_in_extra(program, instance):
    line = (
        "Mar  3 10:00:02 mx1 %s/smtp[104]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n" % program
    )
    events, _ = parse_all(line)
    assert len(events) == 1
    assert events[0].extra["instance"] == instance


def test_postfix_instance_on_expiry_bounce():
    text = DEFERRED_THEN_EXPIRED.replace("mx1 postfix/", "mx1 postfix-out2/")
    expired = of_type(parse_all(text)[0], EventType.BOUNCED)
    assert len(expired) == 1
    assert expired[0].extra["instance"] == "postfix-out2"


def test_postfix_amavis_hop_excluded():
    parser, items = run_parser(AMAVIS_THEN_BOUNCE)
    assert [(item.type, item.queue_id) for item in items] == [(EventType.BOUNCED, "22BBB2")]
    assert parser.counters["internal_hops"] == 1
    assert parser.counters["mailbox_deliveries"] == 1
    assert parser.counters["bounce_notifications"] == 1


def test_postfix_hard_bounce_classified():
    events, _ = parse_all(AMAVIS_THEN_BOUNCE)
    bounce = of_type(events, EventType.BOUNCED)[0]
    assert bounce.recipient == "gone@remote.example"
    assert bounce.smtp_code == 550
    assert bounce.enhanced_status == "5.1.1"
    assert bounce.hard is True
    assert bounce.bounce_reason == "userunknown"
    assert bounce.message_id == "m2@shop.example"


def test_postfix_policy_block_bounce_is_soft():
    line = (
        "Dec  9 10:18:24 mx1 postfix/smtp[1]: 66FFF6: to=<x@hotmail.example>, "
        "relay=mx.hotmail.example[198.51.100.20]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced "
        "(host mx.hotmail.example[198.51.100.20] said: 550 5.7.1 Service unavailable, Client host [192.0.2.1] "
        "blocked using Spamhaus (in reply to RCPT TO command))\n"
    )
    events, _ = parse_all(line)
    bounce = of_type(events, EventType.BOUNCED)[0]
    assert bounce.hard is False


def test_postfix_null_mx_is_hard_bounce():
    line = (
        "Dec  9 10:18:24 mx1 postfix/smtp[1]: 77AAA7: to=<a@nomail.example>, relay=none, delay=0.09, "
        "delays=0.02/0.05/0.02/0, dsn=5.1.0, status=bounced (Domain nomail.example does not accept mail (nullMX))\n"
    )
    events, _ = parse_all(line)
    bounce = of_type(events, EventType.BOUNCED)[0]
    assert bounce.recipient == "a@nomail.example"
    assert bounce.relay_host is None
    assert bounce.enhanced_status == "5.1.0"
    assert bounce.hard is True


def test_postfix_routing_failure_without_host_not_event():
    line = (
        "Dec  9 10:18:24 mx1 postfix/smtp[1]: 77AAA7: to=<a@typo.example>, relay=none, delay=0.1, "
        "delays=0/0/0.1/0, dsn=4.4.3, status=deferred (Host or domain name not found. Name service error "
        "for name=typo.example type=MX: Host not found, try again)"
    )
    parser, items = run_parser(line)
    assert items == []
    assert parser.counters["routing_failures"] == 1


def test_postfix_suspended_delivery_is_deferral():
    line = (
        "Dec  9 10:18:24 mx1 postfix/error[1]: 77AAA7: to=<a@slow.example>, relay=none, delay=63495, "
        "delays=63350/144/0/0, dsn=4.4.2, status=deferred (delivery temporarily suspended: lost connection "
        "with mx.slow.example[198.51.100.9] while sending RCPT TO)\n"
    )
    events, _ = parse_all(line)
    assert [event.type for event in events] == [EventType.DEFERRED]


def test_postfix_expiry_soft_bounce_per_queued_recipient():
    events, _ = parse_all(DEFERRED_THEN_EXPIRED)
    assert [event.type for event in events] == [
        EventType.DEFERRED,
        EventType.DELIVERED,
        EventType.DEFERRED,
        EventType.BOUNCED,
    ]
    expired = events[-1]
    assert expired.recipient == "full@remote.example"
    assert expired.sender == "ann@shop.example"
    assert expired.bounce_reason == "expired"
    assert expired.hard is False
    assert expired.time == datetime(2024, 9, 30, 20, 46, 8, tzinfo=timezone.utc)


def test_postfix_expiry_without_known_recipient_counted():
    line = "Sep 30 20:46:08 mx1 postfix/qmgr[300]: 88BBB8: from=<a@shop.example>, status=expired, returned to sender"
    parser, items = run_parser(line)
    assert items == []
    assert parser.counters["expired_without_known_recipients"] == 1


def test_postfix_queue_id_reuse_keeps_messages_apart():
    # Two messages use queue id 99CCC9 one after the other. Each must keep
    # its own sender and Message-ID.
    text = """\
Sep  4 01:24:11 mx1 postfix-192.0.2.23/cleanup[1]: 99CCC9: message-id=<first@shop.example>
Sep  4 01:24:11 mx1 postfix-192.0.2.23/qmgr[2]: 99CCC9: from=<first@shop.example>, size=10, nrcpt=1 (queue active)
Sep  4 01:24:12 mx1 postfix-192.0.2.23/smtp[3]: 99CCC9: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Sep  4 01:24:12 mx1 postfix-192.0.2.23/qmgr[2]: 99CCC9: removed
Sep  4 02:00:00 mx1 postfix-192.0.2.23/cleanup[1]: 99CCC9: message-id=<second@shop.example>
Sep  4 02:00:00 mx1 postfix-192.0.2.23/qmgr[2]: 99CCC9: from=<second@shop.example>, size=10, nrcpt=1 (queue active)
Sep  4 02:00:01 mx1 postfix-192.0.2.23/smtp[3]: 99CCC9: to=<b@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Sep  4 02:00:01 mx1 postfix-192.0.2.23/qmgr[2]: 99CCC9: removed
"""
    events, _ = parse_all(text)
    delivered = of_type(events, EventType.DELIVERED)
    assert of_type(events, EventType.SENT) == []
    assert [event.sender for event in delivered] == ["first@shop.example", "second@shop.example"]
    assert [event.message_id for event in delivered] == ["first@shop.example", "second@shop.example"]
    assert delivered[0].event_id != delivered[1].event_id


def test_postfix_queue_id_reuse_without_removed_line():
    text = """\
Sep  4 01:24:11 mx1 postfix/qmgr[2]: 99CCC9: from=<first@shop.example>, size=10, nrcpt=1 (queue active)
Sep  4 02:00:00 mx1 postfix/cleanup[1]: 99CCC9: message-id=<second@shop.example>
Sep  4 02:00:00 mx1 postfix/qmgr[2]: 99CCC9: from=<second@shop.example>, size=10, nrcpt=1 (queue active)
Sep  4 02:00:01 mx1 postfix/smtp[3]: 99CCC9: to=<b@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
"""
    parser, items = run_parser(text)
    assert items[-1].sender == "second@shop.example"
    assert parser.counters["reused_queue_ids"] == 1


def test_postfix_instance_own_address_hop_excluded():
    line = (
        "Sep 25 18:26:34 mx1 postfix-192.0.2.50/smtp[4608]: 20B4E3D5BD: to=<a@remote.example>, "
        "relay=192.0.2.50[192.0.2.50]:2501, delay=0.2, delays=0.01/0/0/0.19, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 23EBE3D5C0)"
    )
    parser, items = run_parser(line)
    assert items == []
    assert parser.counters["internal_hops"] == 1


def test_postfix_local_addresses_hop_excluded():
    line = (
        "Sep 25 18:26:34 mx1 postfix/smtp[4608]: 20B4E3D5BD: to=<a@remote.example>, "
        "relay=signer.shop.example[10.0.0.5]:2501, delay=0.2, delays=0.01/0/0/0.19, dsn=2.0.0, status=sent (250 ok)\n"
    )
    assert parse_all(line, local_addresses=frozenset({"10.0.0.5"}))[0] == []
    assert [event.type for event in parse_all(line)[0]] == [EventType.DELIVERED]


@pytest.mark.parametrize(
    "agent, relay",
    [
        pytest.param("lmtp", "mail.shop.example[private/dovecot-lmtp]", id="lmtp-socket"),
        pytest.param("lmtp", "store.shop.example[203.0.113.80]:2003", id="lmtp-remote-store"),
        pytest.param("local", "local", id="local"),
        pytest.param("virtual", "virtual", id="virtual"),
        pytest.param("pipe", "dovecot", id="pipe"),
    ],
)
def test_postfix_mailbox_delivery_not_event(agent, relay):
    line = (
        "Jun 20 05:02:35 mx1 postfix/%s[1]: 44DDD4: to=<user@shop.example>, relay=%s, delay=0.1, "
        "delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered)" % (agent, relay)
    )
    parser, items = run_parser(line)
    assert items == []
    assert parser.counters["mailbox_deliveries"] == 1


def test_postfix_inbound_noqueue_reject_not_event():
    line = (
        "Jan 14 16:18:16 mx1 postfix/smtpd[14933]: NOQUEUE: reject: RCPT from unknown[192.0.2.99]: 550 5.1.1 "
        "<nobody@shop.example>: Recipient address rejected: User unknown; from=<spam@bad.example> to=<nobody@shop.example> proto=ESMTP helo=<x>\n"
    )
    parser, items = run_parser(line)
    assert items == []
    assert parser.counters["inbound_rejections"] == 1
    assert parse_all(line) == ([], [])


def test_postfix_long_queue_ids_and_multi_instance_names():
    text = """\
Mar  3 10:00:01 mx1 postfix-out/qmgr[103]: 4Bx4Bn3Gm9z1xvp: from=<news@shop.example>, size=1234, nrcpt=1 (queue active)
Mar  3 10:00:02 mx1 postfix-out/smtp[104]: 4Bx4Bn3Gm9z1xvp: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Mar  3 10:00:03 mx1 postfix-out/qmgr[103]: 4Bx4Bn3Gm9z1xvp: removed
"""
    parser, items = run_parser(text)
    assert [item.queue_id for item in items] == ["4Bx4Bn3Gm9z1xvp"]
    assert items[0].sender == "news@shop.example"
    assert parser.open == {}


def test_postfix_iso_timestamps():
    line = (
        "2024-01-02T03:04:05.123456+01:00 mx1 postfix/smtp[1]: 4ABC1: to=<a@remote.example>, "
        "relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    events, _ = parse_all(line)
    assert events[0].time == datetime(2024, 1, 2, 2, 4, 5, 123456, tzinfo=timezone.utc)


def test_postfix_rfc5424_lines():
    line = (
        "<22>1 2024-01-02T03:04:05Z mx1 postfix/smtp 77 - - 4ABC1: to=<a@remote.example>, "
        "relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    events, _ = parse_all(line)
    assert [event.type for event in events] == [EventType.DELIVERED]
    assert events[0].extra["instance"] == "postfix"


def test_postfix_new_year_rollover():
    text = """\
Dec 31 23:59:58 mx1 postfix/smtp[1]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
Jan  1 00:00:01 mx1 postfix/smtp[1]: 5ABC2: to=<b@remote.example>, relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)
"""
    delivered = of_type(parse_all(text)[0], EventType.DELIVERED)
    assert [event.time.year for event in delivered] == [2024, 2025]


def test_postfix_wrapped_line_joined():
    text = (
        "Sep 30 20:46:08 mx1 postfix/smtp[1]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.remote.example[203.0.113.5] said: 550 5.1.1 no such\n"
        " user here (in reply to RCPT TO command))\n"
        "Sep 30 20:46:09 mx1 postfix/qmgr[2]: 4ABC1: removed\n"
    )
    events, rejected = parse_all(text)
    bounce = of_type(events, EventType.BOUNCED)[0]
    assert rejected == []
    assert bounce.diagnostic == (
        "host mx.remote.example[203.0.113.5] said: 550 5.1.1 no such user here (in reply to RCPT TO command)"
    )


def test_postfix_unclosed_reply_followed_by_new_line_kept():
    text = (
        "Sep 30 20:46:08 mx1 postfix/smtp[1]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok (truncated\n"
        "Sep 30 20:46:09 mx1 postfix/smtp[1]: 5ABC2: to=<b@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    delivered = of_type(parse_all(text)[0], EventType.DELIVERED)
    assert [event.recipient for event in delivered] == ["a@remote.example", "b@remote.example"]


def test_postfix_status_line_without_queue_id_rejected():
    text = (
        "Mar  3 10:00:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]\n"
        "Mar  3 10:00:02 mx1 postfix/smtp[104]: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    events, rejected = parse_all(text)
    assert events == []
    assert len(rejected) == 1
    assert rejected[0].error.line == 2
    assert rejected[0].error.source == "test.log"
    assert "queue id" in rejected[0].error.message


def test_postfix_status_line_missing_relay_rejected():
    line = "Mar  3 10:00:02 mx1 postfix/smtp[104]: 4ABC1: to=<a@remote.example>, status=sent (250 ok)\n"
    events, rejected = parse_all(line)
    assert events == []
    assert rejected[0].error.line == 1


def test_postfix_status_line_missing_recipient_rejected():
    text = (
        "Mar  3 10:00:00 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]\n"
        "Mar  3 10:00:02 mx1 postfix/smtp[104]: 4ABC1: relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    events, rejected = parse_all(text)
    assert events == []
    assert [item.error.line for item in rejected] == [2]
    assert "missing field to=" in rejected[0].error.message


def test_postfix_impossible_timestamp_rejected_with_its_line():
    # February 30 exists in no year: the line is rejected where it is, not stored undated.
    text = TWO_RECIPIENTS.replace("Mar  3 10:00:02", "Feb 30 10:00:02", 1)
    events, rejected = parse_all(text)
    assert [event.recipient for event in events] == ["bob@gmail.example"]
    assert [item.error.line for item in rejected] == [4]
    assert "'Feb 30 10:00:02' is not a valid date and time" in rejected[0].error.message


def test_postfix_garbage_lines_skipped():
    text = "# failJSON: {}\n\n\x00\x01 binary junk ]: \nrandom text: to= status=\n" + TWO_RECIPIENTS
    events, rejected = parse_all(text)
    assert len(of_type(events, EventType.DELIVERED)) == 2
    assert rejected == []


def test_postfix_event_ids_stable_and_distinct():
    first, _ = parse_all(TWO_RECIPIENTS)
    second, _ = parse_all(TWO_RECIPIENTS)
    assert [event.event_id for event in first] == [event.event_id for event in second]
    assert len({event.event_id for event in first}) == len(first)


def test_postfix_open_queue_ids_bounded():
    lines = [
        "Mar  3 10:00:%02d mx1 postfix/qmgr[1]: %05X: from=<a@shop.example>, size=1, nrcpt=1 (queue active)" % (n, 0xA0000 + n)
        for n in range(10)
    ]
    parser, _ = run_parser("\n".join(lines), max_open=3)
    assert len(parser.open) == 3
    assert list(parser.open) == ["A0007", "A0008", "A0009"]
    assert parser.counters["evicted_queue_ids"] == 7


def test_postfix_removed_closes_lifecycle():
    parser, _ = run_parser(TWO_RECIPIENTS)
    assert parser.open == {}


def test_postfix_line_numbers_across_blocks(monkeypatch):
    monkeypatch.setattr(postfix, "BLOCK_BYTES", 64)
    text = TWO_RECIPIENTS + "Mar  3 10:00:09 mx1 postfix/smtp[104]: to=<x@remote.example>, relay=none, status=sent (x)\n"
    events, rejected = parse_all(text)
    assert len(of_type(events, EventType.DELIVERED)) == 2
    assert rejected[0].error.line == 7


def test_postfix_sniff_scores_postfix_high():
    assert postfix.sniff(TWO_RECIPIENTS.encode(), "mail.log") >= 90
    assert postfix.sniff(b"1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= a@b.example U=x P=local S=1\n", "mainlog") == 0
    assert detect(AMAVIS_THEN_BOUNCE.encode(), "mail.log").kind == "postfix"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=8))
def test_postfix_arbitrary_lines_never_raise(lines):
    text = "\n".join(lines)
    for item in postfix.PARSER.parse(io.BytesIO(text.encode("utf-8", "surrogatepass")), ParseContext(reference_time=REFERENCE)):
        assert isinstance(item, (DeliveryEvent, Rejected))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(TWO_RECIPIENTS.splitlines() + AMAVIS_THEN_BOUNCE.splitlines()), max_size=12), st.text(max_size=40))
def test_postfix_shuffled_real_lines_never_raise(lines, noise):
    text = "\n".join(lines + [noise])
    for item in postfix.PARSER.parse(io.BytesIO(text.encode("utf-8", "surrogatepass")), ParseContext(reference_time=REFERENCE)):
        assert isinstance(item, (DeliveryEvent, Rejected))


WRAPPED = (
    "Sep 30 20:46:08 mx1 postfix/smtp[1]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
    "delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.remote.example[203.0.113.5] said: 550 5.1.1 no such\n"
    " user here (in reply to RCPT TO command))\n"
    "Sep 30 20:46:09 mx1 postfix/qmgr[2]: 4ABC1: removed\n"
)


@pytest.mark.parametrize("block_bytes", [16, 64, 200, 1 << 20])
def test_postfix_wrapped_line_any_block_size(monkeypatch, block_bytes):
    monkeypatch.setattr(postfix, "BLOCK_BYTES", block_bytes)
    events, rejected = parse_all(WRAPPED)
    bounce = of_type(events, EventType.BOUNCED)[0]
    assert rejected == []
    assert bounce.diagnostic.endswith("no such user here (in reply to RCPT TO command)")


def test_postfix_consecutive_truncated_lines():
    truncated = (
        "Sep 30 20:46:0%d mx1 postfix/smtp[1]: %s: to=<%s>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=4.0.0, status=deferred (host said: 451 (cut\n"
    )
    text = truncated % (1, "4ABC1", "a@remote.example") + truncated % (2, "5ABC2", "b@remote.example")
    deferred = of_type(parse_all(text)[0], EventType.DEFERRED)
    assert [event.recipient for event in deferred] == ["a@remote.example", "b@remote.example"]
    assert deferred[0].diagnostic == "host said: 451 (cut"


def test_postfix_content_filter_down_not_event():
    line = (
        "Dec  9 10:18:24 mx1 postfix/smtp[1]: 77AAA7: to=<a@remote.example>, relay=none, delay=30, "
        "delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:10024: Connection refused)"
    )
    parser, items = run_parser(line)
    assert items == []
    assert parser.counters["internal_hops"] == 1


def test_postfix_overlong_line_cut_not_fatal(monkeypatch):
    monkeypatch.setattr(postfix, "BLOCK_BYTES", 16)
    monkeypatch.setattr(postfix, "MAX_CARRIED_CHARS", 300)
    text = "x" * 500 + "\n" + TWO_RECIPIENTS
    events, rejected = parse_all(text)
    assert len(of_type(events, EventType.DELIVERED)) == 2
    assert rejected == []


@pytest.mark.parametrize(
    "timestamp",
    [
        pytest.param("2024-01-02T03:04:05+00:00", id="iso-t"),
        pytest.param("2024-01-02 03:04:05", id="iso-space"),
        pytest.param("2024-01-02 03:04:05.000", id="iso-space-fraction"),
    ],
)
def test_postfix_iso_timestamp_forms(timestamp):
    line = (
        timestamp + " mx1 postfix/smtp[1]: 4ABC1: to=<a@remote.example>, "
        "relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    for text in (line, "<22>" + line):
        events, _ = parse_all(text)
        assert events[0].time == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_postfix_notification_linked_to_message():
    remote_dsn = AMAVIS_THEN_BOUNCE.replace(
        "postfix/lmtp[206]: 33CCC3: to=<ann@shop.example>, relay=mail.shop.example[private/dovecot-lmtp]",
        "postfix/smtp[206]: 33CCC3: to=<ann@other.example>, relay=mx.other.example[198.51.100.30]:25",
    )
    events, _ = parse_all(remote_dsn)
    dsn_events = [event for event in events if event.queue_id == "33CCC3"]
    assert [event.type for event in dsn_events] == [EventType.DELIVERED]
    assert dsn_events[0].extra["notification_for"] == "22BBB2"
    assert dsn_events[0].sender == ""


def test_postfix_followed_log_yields_each_line_without_waiting():
    lines = [line.encode() + b"\n" for line in TWO_RECIPIENTS.splitlines()[3:5]]
    stream = LineStream(lines)
    items = postfix.PARSER.parse(stream, ParseContext(reference_time=REFERENCE))
    first = next(items)
    assert first.recipient == "alice@gmail.example"
    assert stream.reads == 1
    second = next(items)
    assert second.recipient == "bob@gmail.example"
    assert stream.reads == 2


def test_postfix_character_split_between_reads_decoded():
    line = (
        "Mar  3 10:00:02 mx1 postfix/smtp[104]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=5.7.1, status=bounced (host said: 550 5.7.1 refusé)\r\n"
    ).encode()
    split_at = line.index("é".encode()) + 1
    stream = LineStream([line[:split_at], line[split_at:], b""])
    events = list(postfix.PARSER.parse(stream, ParseContext(reference_time=REFERENCE)))
    assert [event.diagnostic for event in events] == ["host said: 550 5.7.1 refusé"]


def test_postfix_followed_log_mixed_line_forms_read():
    classic = (
        "Mar  3 10:00:02 mx1 postfix/smtp[104]: 4ABC1: to=<a@remote.example>, relay=mx.remote.example[203.0.113.5]:25, "
        "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    rfc5424 = (
        "<22>1 2024-03-03T10:00:03Z mx1 postfix/smtp 77 - - 5ABC2: to=<b@remote.example>, "
        "relay=mx.remote.example[203.0.113.5]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n"
    )
    stream = LineStream([classic.encode(), rfc5424.encode(), b""])
    events = list(postfix.PARSER.parse(stream, ParseContext(reference_time=REFERENCE)))
    assert [event.recipient for event in events] == ["a@remote.example", "b@remote.example"]
