"""Ingest of large logs parsed in a child process: the same store as parsing in place, and errors reported."""

import os
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers import registry
from inboxwatch.parsers.base import ParserSpec, reject, text_lines
from inboxwatch.service import ingest as ingest_module
from inboxwatch.service import parse_process
from inboxwatch.service.ingest import IngestOptions, ingest_paths
from inboxwatch.store.db import open_engine
from inboxwatch.store.quarantine import list_quarantine
from inboxwatch.store.schema import events, rollups

START = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def postfix_log(messages: int) -> str:
    """A Postfix log of `messages` messages, two recipients each: delivered, and deferred or bounced."""
    lines = []
    for number in range(messages):
        queue_id = "%010X" % (0xA0000 + number)
        stamp = (START + timedelta(seconds=number)).strftime("%b %d %H:%M:%S").replace(" 0", "  ", 1)
        head = "%s mx1 postfix/" % stamp
        lines.append(head + "cleanup[11]: %s: message-id=<m%d@news.example.com>" % (queue_id, number))
        lines.append(head + "qmgr[12]: %s: from=<news@example.com>, size=900, nrcpt=2 (queue active)" % queue_id)
        lines.append(
            head + "smtp[13]: %s: to=<u%d@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, "
            "delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)" % (queue_id, number)
        )
        if number % 7 == 0:
            lines.append(
                head + "smtp[13]: %s: to=<v%d@yahoo.com>, relay=mta5.am0.yahoodns.net[67.195.1.1]:25, delay=2, "
                "delays=0/0/1/1, dsn=5.1.1, status=bounced (host mta5.am0.yahoodns.net[67.195.1.1] said: "
                "554 5.1.1 <v%d@yahoo.com>: user unknown (in reply to RCPT TO command))" % (queue_id, number, number)
            )
        else:
            lines.append(
                head + "smtp[13]: %s: to=<v%d@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.1.1.1]:25, "
                "delay=3, delays=0/0/1/2, dsn=4.7.0, status=deferred (host said: 451 4.7.0 try again later)"
                % (queue_id, number)
            )
        lines.append(head + "qmgr[12]: %s: removed" % queue_id)
    return "\n".join(lines) + "\n"


def force_child_parse(monkeypatch):
    """Parse every input of a line parser in a child process, whatever its size and the machine."""
    monkeypatch.setattr(parse_process, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parse_process.os, "cpu_count", lambda: 2)
    # Servers that other tests started may still run threads here; the
    # child below only parses, so the fork is safe.
    monkeypatch.setattr(parse_process.threading, "active_count", lambda: 1)


@pytest.fixture
def in_child(monkeypatch):
    force_child_parse(monkeypatch)


def stored(engine):
    with engine.connect() as conn:
        keys = conn.execute(sa.select(events.c.event_key, events.c.type, events.c.provider, events.c.time)).all()
        totals = conn.execute(
            sa.select(
                rollups.c.provider,
                sa.func.sum(rollups.c.delivered),
                sa.func.sum(rollups.c.deferred),
                sa.func.sum(rollups.c.bounced),
                sa.func.sum(rollups.c.hard_bounced),
            ).group_by(rollups.c.provider)
        ).all()
    return sorted(keys), sorted(totals)


def test_child_parse_matches_in_place(tmp_path, monkeypatch):
    log = tmp_path / "mail.log"
    log.write_text(postfix_log(300))
    options = IngestOptions(batch_size=64, reference_time=START)

    in_place = open_engine("sqlite:///%s" % (tmp_path / "in_place.db"))
    in_place_summary = ingest_paths(in_place, [str(log)], options=options).inputs[0]

    force_child_parse(monkeypatch)
    calls = []
    monkeypatch.setattr(ingest_module, "ChildParse", record_call(ingest_module.ChildParse, calls))
    child = open_engine("sqlite:///%s" % (tmp_path / "child.db"))
    child_summary = ingest_paths(child, [str(log)], options=options).inputs[0]

    assert calls, "the child-process path was not taken"
    assert child_summary.events_stored == in_place_summary.events_stored == 600
    assert stored(child) == stored(in_place)


def record_call(function, calls):
    def wrapper(*args, **kwargs):
        calls.append(args)
        return function(*args, **kwargs)

    return wrapper


def test_child_parse_on_each_backend(engine, tmp_path, in_child):
    # Runs on PostgreSQL too when the suite has one.
    log = tmp_path / "mail.log"
    log.write_text(postfix_log(50))
    summary = ingest_paths(engine, [str(log)], options=IngestOptions(batch_size=16, reference_time=START))
    assert summary.events_stored == 100
    again = ingest_paths(engine, [str(log)], options=IngestOptions(batch_size=16, reference_time=START))
    assert (again.events_stored, again.duplicates) == (0, 100)


def test_child_parse_progress_reaches_end(engine, tmp_path, in_child):
    log = tmp_path / "mail.log"
    log.write_text(postfix_log(40))
    seen = []
    ingest_paths(
        engine,
        [str(log)],
        options=IngestOptions(batch_size=10, reference_time=START),
        progress=lambda source, done, total: seen.append((done, total)),
    )
    size = os.path.getsize(log)
    assert seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


# A line parser made up for these tests, run in the child: "TIME RECIPIENT ID",
# after a "#childlog" first line; "FAIL", "CRASH" and "EXIT" lines stop it.
def parse_child_log(stream, context):
    for number, line in text_lines(stream):
        if number == 1 or not line:
            continue
        if line == "FAIL":
            raise ParseError("unexpected end of record", source=context.source, line=number)
        if line == "CRASH":
            raise RuntimeError("parser bug")
        if line == "EXIT":
            os._exit(3)
        fields = line.split()
        if len(fields) != 3:
            yield reject("expected 3 fields, found %d" % len(fields), line, source=context.source, line=number)
            continue
        yield DeliveryEvent(
            type=EventType.DELIVERED,
            time=datetime.fromisoformat(fields[0]),
            source="childlog",
            event_id=fields[2],
            recipient=fields[1],
        )


CHILD_PARSER = ParserSpec(
    kind="childlog",
    description="test lines",
    sniff=lambda head, name: 100 if head.startswith(b"#childlog") else 0,
    parse=parse_child_log,
    yields_events_only=True,
)


@pytest.fixture
def child_parser_registered(monkeypatch):
    known = registry.all_parsers()
    monkeypatch.setattr(registry, "all_parsers", lambda: known + (CHILD_PARSER,))


def child_log(tmp_path, last_line):
    lines = ["#childlog"]
    lines += ["2026-11-02T10:00:%02d+00:00 user%d@gmail.com e%d" % (n, n, n) for n in range(20)]
    lines += ["not-a-record", last_line, "2026-11-02T10:01:00+00:00 late@gmail.com late"]
    path = tmp_path / "child.log"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize(
    "last_line, expected_error, rejected",
    [
        # A whole-input error keeps its line number across the process
        # boundary, and the batch in progress is kept, rejected line included.
        ("FAIL", "line 23: unexpected end of record", 1),
        # A parser bug in the child is reported, not lost.
        ("CRASH", "the parser failed: RuntimeError: parser bug", 1),
        # So is a child that dies without a word; only its batch in progress is lost.
        ("EXIT", "the parser process ended without finishing (exit code 3)", 0),
    ],
)
def test_child_error_keeps_earlier_batches(
    engine, tmp_path, in_child, child_parser_registered, last_line, expected_error, rejected
):
    path = child_log(tmp_path, last_line)
    summary = ingest_paths(engine, [path], options=IngestOptions(batch_size=5)).inputs[0]

    assert summary.error == expected_error
    # The batches sent before the error are stored.
    assert summary.events_stored == 20
    assert summary.rejected == rejected
    with engine.connect() as conn:
        reasons = [item.reason for item in list_quarantine(conn)]
    assert ("expected 3 fields, found 1" in reasons) == bool(rejected)
