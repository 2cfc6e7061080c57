"""The Exim main log parser: which delivery lines become events."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linestream import LineStream

from inboxwatch.model import DeliveryEvent, EventType, Rejected
from inboxwatch.parsers import exim
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.registry import detect

REFERENCE = datetime(2025, 1, 2, 12, 0, tzinfo=timezone.utc)

# New-style (4.97+) ids: a remote delivery of two recipients in one SMTP
# transaction, then a remote hard bounce.
REMOTE_DELIVERIES = """\
2024-05-06 07:08:09 10HmaX-000000005vi-0000 <= news@shop.example H=app.shop.example [198.51.100.7] P=esmtpsa S=2345 id=m1@shop.example
2024-05-06 07:08:10 10HmaX-000000005vi-0000 => alice@gmail.example R=dnslookup T=remote_smtp H=mx.gmail.example [192.0.2.10] X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C="250 2.0.0 OK 1700000000 gsmtp"
2024-05-06 07:08:10 10HmaX-000000005vi-0000 -> bob@gmail.example R=dnslookup T=remote_smtp H=mx.gmail.example [192.0.2.10] C="250 2.0.0 OK 1700000001 gsmtp"
2024-05-06 07:08:11 10HmaX-000000005vi-0000 ** gone@remote.example R=dnslookup T=remote_smtp H=mx.remote.example [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<gone@remote.example>: 550 5.1.1 <gone@remote.example>: User unknown
2024-05-06 07:08:11 10HmaX-000000005vi-0000 Completed
"""


def parse_all(text: str, **context_fields) -> tuple[list[DeliveryEvent], list[Rejected]]:
    context = ParseContext(source="mainlog", reference_time=REFERENCE, **context_fields)
    items = list(exim.PARSER.parse(io.BytesIO(text.encode()), context))
    events = [item for item in items if isinstance(item, DeliveryEvent)]
    rejected = [item for item in items if isinstance(item, Rejected)]
    return events, rejected


def run_parser(text: str, **options) -> tuple[exim.EximLogParser, list]:
    parser = exim.EximLogParser(ParseContext(source="mainlog", reference_time=REFERENCE), **options)
    items: list = []
    for number, line in enumerate(text.splitlines(), start=1):
        items.extend(parser.feed(number, line) or ())
    items.extend(parser.finish())
    return parser, items


def kinds(events: list[DeliveryEvent]) -> list[tuple[EventType, str | None]]:
    return [(event.type, event.recipient) for event in events]


def test_exim_remote_deliveries_and_bounce():
    events, rejected = parse_all(REMOTE_DELIVERIES)
    assert rejected == []
    assert kinds(events) == [
        (EventType.DELIVERED, "alice@gmail.example"),
        (EventType.DELIVERED, "bob@gmail.example"),
        (EventType.BOUNCED, "gone@remote.example"),
    ]


def test_exim_delivery_fields():
    events, _ = parse_all(REMOTE_DELIVERIES)
    delivered = events[0]
    assert delivered.queue_id == "10HmaX-000000005vi-0000"
    assert delivered.sender == "news@shop.example"
    assert delivered.message_id == "m1@shop.example"
    assert delivered.relay_host == "mx.gmail.example"
    assert delivered.relay_ip == "192.0.2.10"
    assert delivered.smtp_code == 250
    assert delivered.enhanced_status == "2.0.0"
    assert delivered.time == datetime(2024, 5, 6, 7, 8, 10, tzinfo=timezone.utc)
    assert delivered.extra["transport"] == "remote_smtp"


def test_exim_hard_bounce_fields():
    events, _ = parse_all(REMOTE_DELIVERIES)
    bounce = events[-1]
    assert bounce.smtp_code == 550
    assert bounce.enhanced_status == "5.1.1"
    assert bounce.hard is True
    assert bounce.diagnostic.startswith("SMTP error from remote mail server")


def test_exim_no_sent_event():
    events, _ = parse_all(REMOTE_DELIVERIES)
    assert [event for event in events if event.type is EventType.SENT] == []


def test_exim_arrival_correlation_on_each_event():
    events, _ = parse_all(REMOTE_DELIVERIES)
    assert len(events) == 3
    for event in events:
        assert event.queue_id == "10HmaX-000000005vi-0000"
        assert event.sender == "news@shop.example"
        assert event.message_id == "m1@shop.example"


def test_exim_remote_deferral_then_retry_timeout_soft_bounce():
    text = """\
2024-05-06 07:08:09 1a2b3c-000abc-DE <= news@shop.example U=news P=local S=100
2024-05-06 07:08:10 1a2b3c-000abc-DE == slow@remote.example R=dnslookup T=remote_smtp defer (-44) H=mx.remote.example [203.0.113.5]: SMTP error from remote mail server after RCPT TO:<slow@remote.example>: 451 4.7.1 Greylisted
2024-05-10 07:08:10 1a2b3c-000abc-DE ** slow@remote.example: retry timeout exceeded
2024-05-10 07:08:10 1a2b3c-000abc-DE Completed
"""
    events, _ = parse_all(text)
    assert kinds(events) == [
        (EventType.DEFERRED, "slow@remote.example"),
        (EventType.BOUNCED, "slow@remote.example"),
    ]
    deferred, expired = events
    assert expired.sender == "news@shop.example"
    assert deferred.queue_id == "1a2b3c-000abc-DE"
    assert deferred.smtp_code == 451
    assert deferred.enhanced_status == "4.7.1"
    assert expired.bounce_reason == "expired"
    assert expired.hard is False


def test_exim_deferral_host_from_preceding_line():
    text = """\
1999-03-02 09:44:33 10HmaX-000000005vi-0000 <= CALLER@test.example U=CALLER P=local S=sss
1999-03-02 09:44:33 10HmaX-000000005vi-0000 H=mx.known.example [203.0.113.9] Network Error
1999-03-02 09:44:33 10HmaX-000000005vi-0000 == b@known.example R=default T=smtp defer (dd): Network Error
"""
    events, _ = parse_all(text)
    assert kinds(events) == [(EventType.DEFERRED, "b@known.example")]
    assert events[0].relay_host is None
    assert events[0].sender == "CALLER@test.example"


def test_exim_deferral_tried_only_loopback_excluded():
    text = """\
1999-03-02 09:44:33 10HmaX-000000005vi-0000 H=localhost [127.0.0.1]: DANE error: tlsa lookup DEFER
1999-03-02 09:44:33 10HmaX-000000005vi-0000 == b@known.example R=client T=send_to_server defer (-36): DANE error: tlsa lookup DEFER
"""
    parser, items = run_parser(text)
    assert items == []
    assert parser.counters["internal_hops"] == 1


def test_exim_smtp_transport_without_connection_is_deferral():
    line = "1999-03-02 09:44:33 10HmaX-000000005vi-0000 == a@unknown.example R=default T=smtp defer (-54): retry time not reached for any host for 'unknown.example'\n"
    events, _ = parse_all(line)
    assert kinds(events) == [(EventType.DEFERRED, "a@unknown.example")]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("=> userx <userx@shop.example> R=localuser T=local_delivery", id="appendfile"),
        pytest.param("=> |/usr/bin/procmail <userx@shop.example> R=filter T=address_pipe", id="pipe"),
        pytest.param("=> :blackhole: <CALLER@shop.example> R=null", id="blackhole"),
        pytest.param("=> userx <userx@shop.example> R=localuser T=custom_store", id="custom-transport-without-host"),
        pytest.param("=> userx@shop.example R=lmtp T=lmtp H=store.shop.example [203.0.113.80]", id="lmtp-remote-host"),
        pytest.param("=> x@test.example R=remote T=smtp H=127.0.0.1 [127.0.0.1] C=\"250 OK\"", id="loopback"),
        pytest.param("=> x@test.example R=remote T=smtp H=::1 [::1] C=\"250 OK\"", id="loopback-ipv6"),
        pytest.param("== c@test.example R=smart T=local_delivery defer (-22): mailbox is full", id="local-defer"),
        pytest.param("== delay@test.example R=delay defer (-1): deliberate", id="router-defer"),
        pytest.param("== rmt@test.example routing defer (-52): retry time not reached", id="routing-defer"),
        pytest.param("** a@test.example : Unrouteable address", id="unrouteable"),
        pytest.param("** userx@test.example R=filter : subject was \"fail this\" (filter fail)", id="filter-fail"),
        pytest.param("** c@test.example: retry timeout exceeded", id="retry-timeout-without-remote-deferral"),
        pytest.param("*> x@remote.example R=dnslookup T=remote_smtp H=mx.remote.example [203.0.113.5]", id="suppressed"),
    ],
)
def test_exim_local_and_routing_outcomes_not_events(line):
    text = "2024-05-06 07:08:10 10HmaX-000000005vi-0000 " + line + "\n"
    assert parse_all(text) == ([], [])


def test_exim_local_addresses_excluded():
    line = "2024-05-06 07:08:10 10HmaX-000000005vi-0000 => a@remote.example R=dnslookup T=remote_smtp H=relay.shop.example [10.0.0.5]\n"
    assert parse_all(line, local_addresses=frozenset({"10.0.0.5"}))[0] == []
    assert kinds(parse_all(line)[0]) == [(EventType.DELIVERED, "a@remote.example")]


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("2024-05-06 07:08:10 ", id="bare"),
        pytest.param("2024-05-06 07:08:10.712 ", id="milliseconds"),
        pytest.param("2024-05-06 07:08:10 +0000 ", id="zone"),
        pytest.param("2024-05-06 07:08:10 [4321] ", id="pid"),
        pytest.param("May  6 07:08:10 mx1 exim[4321]: ", id="syslog"),
        pytest.param("mx1 exim[4321]: 2024-05-06 07:08:10 ", id="tag-then-timestamp"),
        pytest.param("2024-05-06 07:08:10 mx1 exim[4321]: ", id="timestamp-then-tag"),
    ],
)
def test_exim_prefix_forms(prefix):
    line = prefix + "1a2b3c-000abc-DE => a@remote.example R=dnslookup T=remote_smtp H=mx.remote.example [203.0.113.5]\n"
    events, rejected = parse_all(line)
    assert rejected == []
    assert kinds(events) == [(EventType.DELIVERED, "a@remote.example")]
    assert events[0].time.replace(microsecond=0) == datetime(2024, 5, 6, 7, 8, 10, tzinfo=timezone.utc)


def test_exim_original_address_kept():
    line = "2024-05-06 07:08:10 10HmaX-000000005vi-0000 => fwd@remote.example <alias@shop.example> R=dnslookup T=remote_smtp H=mx.remote.example [203.0.113.5]\n"
    events, _ = parse_all(line)
    assert events[0].recipient == "fwd@remote.example"
    assert events[0].extra["original_recipient"] == "alias@shop.example"


def test_exim_delivery_line_without_address_rejected():
    text = "2024-05-06 07:08:09 any other line\n2024-05-06 07:08:10 10HmaX-000000005vi-0000 ==\n"
    events, rejected = parse_all(text)
    assert events == []
    assert rejected[0].error.line == 2
    assert rejected[0].error.source == "mainlog"


def test_exim_impossible_timestamp_rejected_with_its_line():
    text = REMOTE_DELIVERIES.replace("2024-05-06 07:08:10 10HmaX-000000005vi-0000 ->", "2024-02-30 07:08:10 10HmaX-000000005vi-0000 ->")
    events, rejected = parse_all(text)
    assert [event.recipient for event in events] == ["alice@gmail.example", "gone@remote.example"]
    assert [item.error.line for item in rejected] == [3]
    assert "not a valid date and time" in rejected[0].error.message


def test_exim_garbage_lines_skipped():
    text = "# failJSON: {}\n\n******** SERVER ********\nfree text\n" + REMOTE_DELIVERIES
    events, rejected = parse_all(text)
    assert len(events) == 3
    assert rejected == []


def test_exim_completed_closes_message():
    parser, _ = run_parser(REMOTE_DELIVERIES)
    assert parser.open == {}
    assert parser.counters["completed_messages"] == 1


def test_exim_open_messages_bounded():
    lines = ["2024-05-06 07:08:09 10Hm%02d-000000005vi-0000 <= a@shop.example U=a P=local S=1" % n for n in range(10)]
    parser, _ = run_parser("\n".join(lines), max_open=4)
    assert len(parser.open) == 4
    assert parser.counters["evicted_messages"] == 6


def test_exim_event_ids_stable_and_distinct():
    first, _ = parse_all(REMOTE_DELIVERIES)
    second, _ = parse_all(REMOTE_DELIVERIES)
    assert [event.event_id for event in first] == [event.event_id for event in second]
    assert len({event.event_id for event in first}) == len(first)


def test_exim_sniff():
    assert exim.sniff(REMOTE_DELIVERIES.encode(), "mainlog") >= 90
    assert exim.sniff(b"mx1 exim[3751842]: 2021-07-17 23:20:49 plain_server authenticator failed for ([192.0.2.17])\n", "x") >= 50
    assert exim.sniff(b"Mar  3 10:00:01 mx1 postfix/qmgr[102]: 4ABC1: removed\n", "mail.log") == 0
    assert detect(REMOTE_DELIVERIES.encode(), "mainlog").kind == "exim"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=8))
def test_exim_arbitrary_lines_never_raise(lines):
    text = "\n".join(lines)
    for item in exim.PARSER.parse(io.BytesIO(text.encode("utf-8", "surrogatepass")), ParseContext(reference_time=REFERENCE)):
        assert isinstance(item, (DeliveryEvent, Rejected))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(REMOTE_DELIVERIES.splitlines()), max_size=10), st.text(max_size=40))
def test_exim_shuffled_real_lines_never_raise(lines, noise):
    text = "\n".join(lines + ["2024-05-06 07:08:10 10HmaX-000000005vi-0000 " + noise])
    for item in exim.PARSER.parse(io.BytesIO(text.encode("utf-8", "surrogatepass")), ParseContext(reference_time=REFERENCE)):
        assert isinstance(item, (DeliveryEvent, Rejected))


def test_exim_host_without_name_loopback_excluded():
    line = "2024-05-06 07:08:10 10HmaX-000000005vi-0000 => a@remote.example R=smart T=remote_smtp H=[127.0.0.1]:10025\n"
    assert parse_all(line) == ([], [])


def test_exim_host_without_name_remote():
    line = "2024-05-06 07:08:10 10HmaX-000000005vi-0000 => a@remote.example R=smart T=remote_smtp H=[203.0.113.5]\n"
    delivered = parse_all(line)[0][0]
    assert delivered.relay_host is None
    assert delivered.relay_ip == "203.0.113.5"


def test_exim_transport_retry_timeout_is_expired():
    line = (
        "2024-05-06 07:08:10 10HmaX-000000005vi-0000 ** a@remote.example R=dnslookup T=remote_smtp "
        "H=mx.remote.example [203.0.113.5]: retry timeout exceeded\n"
    )
    bounce = parse_all(line)[0][0]
    assert bounce.bounce_reason == "expired"
    assert bounce.hard is False


def test_exim_followed_log_yields_each_line_without_waiting():
    stream = LineStream([line.encode() + b"\n" for line in REMOTE_DELIVERIES.splitlines()[:3]])
    items = exim.PARSER.parse(stream, ParseContext(reference_time=REFERENCE))
    first = next(items)
    assert first.recipient == "alice@gmail.example"
    assert stream.reads == 2
    second = next(items)
    assert second.recipient == "bob@gmail.example"
    assert stream.reads == 3
