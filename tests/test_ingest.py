import dataclasses
import gzip
import io
import sys
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.model.records import Rejected
from inboxwatch.parsers import registry
from inboxwatch.parsers.base import ParserSpec, reject, text_lines
from inboxwatch.service.ingest import (
    IngestOptions,
    ingest_paths,
    ingest_records,
    register_record_handler,
    unregister_record_handler,
)
from inboxwatch.store import events as store_events_module
from inboxwatch.store.events import store_events
from inboxwatch.store.quarantine import list_quarantine
from inboxwatch.store.schema import events, ingests, rollups

NOW = datetime(2026, 3, 4, tzinfo=timezone.utc)

# A line format made up for these tests, so they do not depend on any real
# parser: "TIME TYPE RECIPIENT ID", after a "#testlog" first line.
TEST_LOG = """\
#testlog
2026-03-03T10:00:01+00:00 sent alice@gmail.com m1-sent
2026-03-03T10:00:02+00:00 delivered alice@gmail.com m1-delivered
2026-03-03T10:00:03+00:00 bounced bob@yahoo.com m2-bounced
2026-03-03T10:01:04+00:00 deferred carol@outlook.com m3-deferred
"""
TEST_LOG_EVENTS = 4

POSTFIX_LOG = """\
Mar  3 10:00:01 mx1 postfix/qmgr[102]: 4ABC1: from=<news@example.com>, size=1234, nrcpt=3 (queue active)
Mar  3 10:00:02 mx1 postfix/smtp[103]: 4ABC1: to=<alice@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)
Mar  3 10:00:03 mx1 postfix/smtp[103]: 4ABC1: to=<bob@yahoo.com>, relay=mta5.am0.yahoodns.net[67.195.1.1]:25, delay=2, delays=0/0/1/1, dsn=5.1.1, status=bounced (host mta5.am0.yahoodns.net[67.195.1.1] said: 554 5.1.1 <bob@yahoo.com>: user unknown (in reply to RCPT TO command))
Mar  3 10:00:04 mx1 postfix/smtp[103]: 4ABC1: to=<carol@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.1.1.1]:25, delay=3, delays=0/0/1/2, dsn=4.7.0, status=deferred (host said: 451 4.7.0 try again later)
Mar  3 10:00:05 mx1 postfix/qmgr[102]: 4ABC1: removed
"""
POSTFIX_EVENTS = 3  # delivered, bounced, deferred

SENDGRID_TRUNCATED = '[{"email":"a@gmail.com","timestamp":1767225600,"event":"delivered","sg_event_id":"e1"},{"email":"b@gm'


@dataclasses.dataclass(frozen=True)
class BounceNotice:
    """A record type of the kind other parsers yield besides delivery events."""

    recipient: str


class UnknownRecord:
    pass


def parse_test_log(stream, context):
    for number, line in text_lines(stream):
        if number == 1 or not line:
            continue
        fields = line.split()
        if len(fields) != 4:
            yield reject("expected 4 fields, found %d" % len(fields), line, source=context.source, line=number)
            continue
        time, event_type, recipient, event_id = fields
        yield DeliveryEvent(
            type=EventType(event_type),
            time=datetime.fromisoformat(time),
            source="testlog",
            event_id=event_id,
            recipient=recipient,
        )


TEST_PARSER = ParserSpec(
    kind="testlog",
    description="test lines",
    sniff=lambda head, name: 100 if head.startswith(b"#testlog") else 0,
    parse=parse_test_log,
)


@pytest.fixture(autouse=True)
def test_parser_registered(monkeypatch):
    known = registry.all_parsers()
    monkeypatch.setattr(registry, "all_parsers", lambda: known + (TEST_PARSER,))


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def count_rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_ingest_postfix_log_stores_events(engine, tmp_path):
    summary = ingest_paths(engine, [write(tmp_path / "mail.log", POSTFIX_LOG)])
    assert summary.inputs_read == 1
    assert summary.events_stored == POSTFIX_EVENTS
    assert summary.duplicates == 0
    assert summary.inputs[0].kind == "postfix"
    assert count_rows(engine, events) == POSTFIX_EVENTS


def test_ingest_same_file_twice_changes_nothing(engine, tmp_path):
    path = write(tmp_path / "test.log", TEST_LOG)
    ingest_paths(engine, [path])
    with engine.connect() as conn:
        rollups_before = conn.execute(sa.select(rollups).order_by(rollups.c.id)).all()
    second = ingest_paths(engine, [path])
    with engine.connect() as conn:
        rollups_after = conn.execute(sa.select(rollups).order_by(rollups.c.id)).all()
    assert second.events_stored == 0
    assert second.duplicates == TEST_LOG_EVENTS
    assert count_rows(engine, events) == TEST_LOG_EVENTS
    assert rollups_after == rollups_before


def test_ingest_records_ingest_row(engine, tmp_path):
    path = write(tmp_path / "test.log", TEST_LOG)
    ingest_paths(engine, [path], clock=lambda: NOW)
    with engine.connect() as conn:
        row = conn.execute(sa.select(ingests)).one()
    assert row.source == path
    assert row.kind == "testlog"
    assert row.events_stored == TEST_LOG_EVENTS
    assert row.finished_at is not None


def test_ingest_bad_inputs_quarantined_rest_stored(engine, tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "a-binary.bin").write_bytes(bytes(range(256)) * 4)
    (folder / "b-empty.log").write_bytes(b"")
    write(folder / "c-truncated.json", SENDGRID_TRUNCATED)
    write(folder / "d-test.log", TEST_LOG)

    summary = ingest_paths(engine, [str(folder)], clock=lambda: NOW)

    by_name = {item.source.rsplit("/", 1)[1]: item for item in summary.inputs}
    assert summary.inputs_read == 1
    assert summary.events_stored == TEST_LOG_EVENTS
    assert "unrecognised format" in by_name["a-binary.bin"].error
    assert "empty input" in by_name["b-empty.log"].error
    assert "invalid JSON" in by_name["c-truncated.json"].error
    assert by_name["d-test.log"].error is None
    with engine.connect() as conn:
        quarantined = {item.source.rsplit("/", 1)[1]: item for item in list_quarantine(conn)}
    assert sorted(quarantined) == ["a-binary.bin", "b-empty.log", "c-truncated.json"]
    assert quarantined["c-truncated.json"].kind == "sendgrid"
    assert quarantined["c-truncated.json"].location.startswith("line 1")
    assert quarantined["c-truncated.json"].raw == SENDGRID_TRUNCATED
    assert "\x00" not in quarantined["a-binary.bin"].raw


def test_ingest_rejected_lines_quarantined(engine, tmp_path):
    text = TEST_LOG + "2026-03-03T10:02:00+00:00 delivered\n"
    summary = ingest_paths(engine, [write(tmp_path / "test.log", text)], clock=lambda: NOW)
    assert summary.events_stored == TEST_LOG_EVENTS
    assert summary.rejected == 1
    assert summary.inputs[0].error is None
    assert summary.inputs[0].reasons == ["line 6: expected 4 fields, found 2"]
    with engine.connect() as conn:
        (item,) = list_quarantine(conn)
    assert item.location == "line 6"
    assert item.raw == "2026-03-03T10:02:00+00:00 delivered"


def test_ingest_gzip_file(engine, tmp_path):
    path = tmp_path / "test.log.gz"
    path.write_bytes(gzip.compress(TEST_LOG.encode()))
    progress = []
    summary = ingest_paths(engine, [str(path)], progress=lambda source, done, total: progress.append((done, total)))
    assert summary.events_stored == TEST_LOG_EVENTS
    assert progress[-1] == (len(TEST_LOG.encode()), None)


def test_ingest_stdin(engine, monkeypatch):
    fake_stdin = io.TextIOWrapper(io.BytesIO(TEST_LOG.encode()))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    summary = ingest_paths(engine, ["-"], kind="testlog")
    assert summary.events_stored == TEST_LOG_EVENTS
    assert summary.inputs[0].source == "-"


def test_ingest_progress_plain_file_reaches_size(engine, tmp_path):
    path = write(tmp_path / "test.log", TEST_LOG)
    progress = []
    ingest_paths(engine, [path], progress=lambda source, done, total: progress.append((done, total)))
    size = len(TEST_LOG.encode())
    assert progress[-1] == (size, size)


def test_ingest_small_batches_store_everything(engine, tmp_path):
    summary = ingest_paths(engine, [write(tmp_path / "test.log", TEST_LOG)], options=IngestOptions(batch_size=1))
    assert summary.events_stored == TEST_LOG_EVENTS
    assert count_rows(engine, events) == TEST_LOG_EVENTS


def delivered(number):
    return DeliveryEvent(
        type=EventType.DELIVERED,
        time=NOW,
        source="webhook-test",
        event_id="e%d" % number,
        recipient="user@gmail.com",
    )


def test_ingest_records_handler_receives_other_records(engine):
    received = []
    register_record_handler(BounceNotice, lambda conn, records, context: received.extend((r, context.ingest_id) for r in records))
    try:
        summary = ingest_records(engine, [delivered(1), BounceNotice("a@gmail.com"), delivered(2)], "webhook:test")
    finally:
        unregister_record_handler(BounceNotice)
    assert summary.events_stored == 2
    assert summary.records_handled == 1
    assert received == [(BounceNotice("a@gmail.com"), summary.ingest_id)]


def test_ingest_records_concurrent_writer_batch_redone(engine, monkeypatch):
    original = store_events_module.existing_keys
    pending = [[delivered(2)]]

    def lookup_then_concurrent_write(conn, keys):
        found = original(conn, keys)
        if pending:
            with engine.begin() as other:
                store_events(other, pending.pop(), ingest_id=None)
        return found

    monkeypatch.setattr(store_events_module, "existing_keys", lookup_then_concurrent_write)
    summary = ingest_records(engine, [delivered(1), delivered(2), delivered(3)], "webhook:test")
    assert summary.events_stored == 2
    assert summary.duplicates == 1
    assert count_rows(engine, events) == 3
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(rollups.c.delivered))).scalar() == 3


def test_ingest_records_unknown_type_counted(engine, caplog):
    summary = ingest_records(engine, [delivered(1), UnknownRecord(), UnknownRecord()], "webhook:test")
    assert summary.events_stored == 1
    assert summary.records_unhandled == 2
    assert "UnknownRecord" in caplog.text


def test_ingest_records_rejected_item_quarantined(engine):
    bad = Rejected(error=ParseError("missing field: timestamp", field="timestamp"), raw='{"event": "delivered"}')
    summary = ingest_records(engine, [bad, delivered(1)], "webhook:test", kind="sendgrid")
    assert summary.rejected == 1
    assert summary.reasons == ["field timestamp: missing field: timestamp"]
    with engine.connect() as conn:
        (item,) = list_quarantine(conn)
    assert item.source == "webhook:test"
    assert item.kind == "sendgrid"
    assert item.location == "field timestamp"
    assert item.raw == '{"event": "delivered"}'


def test_ingest_options_invalid_retention_rejected():
    with pytest.raises(ValueError, match="recipient_retention"):
        IngestOptions(recipient_retention="everything")
