"""Maildir and mbox sources: ingest reads every message, the maildir watcher files messages after they are stored."""

from __future__ import annotations

import dataclasses
import mailbox
import threading
from datetime import datetime, timezone

import sqlalchemy as sa
from click.testing import CliRunner

from inboxwatch.cli.ingest import command as ingest_command
from inboxwatch.parsers import bounce as bounce_parser
from inboxwatch.parsers import registry
from inboxwatch.service.ingest import IngestOptions
from inboxwatch.service.mail_ingest import ingest_inputs
from inboxwatch.service.mailbox_watchers import MaildirWatcher
from inboxwatch.sources.mailboxes import MaildirPoller, is_maildir, is_mbox, mbox_messages
from inboxwatch.store.schema import dmarc_reports, tls_reports
from mailbox_support import BOUNCE, ORDINARY, dmarc_message, tls_message

ORIGINAL_PARSERS = registry.all_parsers


def count_rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def make_maildir(path, *messages: bytes) -> mailbox.Maildir:
    box = mailbox.Maildir(str(path), create=True)
    for message in messages:
        box.add(message)
    return box


def make_mbox(path, *messages: bytes) -> None:
    box = mailbox.mbox(str(path), create=True)
    for message in messages:
        box.add(message)
    box.close()


def test_detection_maildir_and_mbox(tmp_path):
    make_maildir(tmp_path / "mail")
    make_mbox(tmp_path / "reports.mbox", ORDINARY)
    (tmp_path / "plain").mkdir()
    assert is_maildir(str(tmp_path / "mail"))
    assert not is_maildir(str(tmp_path / "plain"))
    assert is_mbox(str(tmp_path / "reports.mbox"))
    assert not is_mbox(str(tmp_path / "mail"))


def test_mbox_messages_keyed_by_position(tmp_path):
    make_mbox(tmp_path / "reports.mbox", ORDINARY, BOUNCE)
    messages = list(mbox_messages(str(tmp_path / "reports.mbox")))
    assert [message.key for message in messages] == ["1", "2"]
    assert messages[1].data.startswith(b"From: MAILER-DAEMON@mx.receiver.example")


def test_ingest_maildir_parses_each_message(engine, tmp_path):
    box = make_maildir(tmp_path / "mail", dmarc_message(), tls_message(), BOUNCE, ORDINARY)

    summary = ingest_inputs(engine, [str(tmp_path / "mail")])

    (result,) = summary.inputs
    assert result.kind == "maildir"
    # The DMARC report and the TLS report are stored as records, the bounce as a delivery event.
    assert result.records_handled == 2
    assert result.events_stored == 1
    assert result.rejected == 1
    assert "no bounce, complaint or auto-reply found" in result.reasons[0]
    assert count_rows(engine, dmarc_reports) == 1
    assert count_rows(engine, tls_reports) == 1
    assert len(box) == 4


def test_ingest_mbox_twice_stores_once(engine, tmp_path):
    make_mbox(tmp_path / "reports.mbox", dmarc_message("a"), dmarc_message("b"))

    first = ingest_inputs(engine, [str(tmp_path / "reports.mbox")])
    ingest_inputs(engine, [str(tmp_path / "reports.mbox")])

    assert first.inputs[0].kind == "mbox"
    assert first.inputs[0].records_handled == 2
    assert count_rows(engine, dmarc_reports) == 2


def test_cli_ingest_accepts_maildir(store_url, tmp_path):
    make_maildir(tmp_path / "mail", dmarc_message())

    result = CliRunner().invoke(ingest_command, [str(tmp_path / "mail"), "--store", store_url])

    assert result.exit_code == 0, result.output
    assert "(maildir)" in result.output
    assert "1 other records stored" in result.output


class CheckingPoller(MaildirPoller):
    """Records how many reports the store held each time messages were filed away."""

    def __init__(self, path, engine) -> None:
        super().__init__(path)
        self.engine = engine
        self.stored_when_filed: list[int] = []

    def mark_processed(self, keys):
        self.stored_when_filed.append(count_rows(self.engine, dmarc_reports))
        super().mark_processed(keys)


def test_maildir_watcher_files_after_commit(engine, tmp_path):
    box = make_maildir(tmp_path / "mail", dmarc_message("a"), dmarc_message("b"), ORDINARY)
    poller = CheckingPoller(str(tmp_path / "mail"), engine)
    watcher = MaildirWatcher(
        engine, poller, kind=None, options=IngestOptions(), stop=threading.Event(),
        clock=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc),
    )

    taken = watcher.poll_once()

    assert taken == 3
    assert poller.stored_when_filed == [2]
    assert len(box) == 0
    assert len(box.get_folder("processed")) == 2
    assert len(box.get_folder("failed")) == 1
    assert watcher.poll_once() == 0


def test_ingest_folder_reads_mbox_inside(engine, tmp_path):
    (tmp_path / "inputs").mkdir()
    make_mbox(tmp_path / "inputs" / "reports.mbox", dmarc_message("a"), ORDINARY)
    (tmp_path / "inputs" / "tls.eml").write_bytes(tls_message())

    summary = ingest_inputs(engine, [str(tmp_path / "inputs")])

    assert [item.kind for item in summary.inputs] == ["mbox", "tlsrpt"]
    assert count_rows(engine, dmarc_reports) == 1
    assert count_rows(engine, tls_reports) == 1


def test_ingest_maildir_parser_crash_costs_one_message(engine, tmp_path, monkeypatch):
    def broken_parse(stream, context):
        raise RuntimeError("parser bug")
        yield

    monkeypatch.setattr(bounce_parser, "PARSER", dataclasses.replace(bounce_parser.PARSER, parse=broken_parse))
    monkeypatch.setattr(registry, "all_parsers", lambda: tuple(
        bounce_parser.PARSER if spec.kind == "bounce" else spec for spec in ORIGINAL_PARSERS()
    ))
    make_maildir(tmp_path / "mail", BOUNCE, dmarc_message())

    (result,) = ingest_inputs(engine, [str(tmp_path / "mail")]).inputs

    assert result.rejected == 1
    assert "internal error while parsing: RuntimeError: parser bug" in result.reasons[0]
    assert count_rows(engine, dmarc_reports) == 1
