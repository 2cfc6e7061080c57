"""The IMAP source against a TLS server on 127.0.0.1: fetch, store, then move or flag; never log the password."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.config.models import ImapSource
from inboxwatch.errors import ConfigError
from inboxwatch.service.ingest import IngestOptions
from inboxwatch.service.mailbox_watchers import ImapWatcher, imap_account
from inboxwatch.sources.imap import ImapAccount, ImapError, ImapMailbox
from inboxwatch.store.schema import dmarc_reports
from imapserver import ImapServer
from mailbox_support import BOUNCE, ORDINARY, dmarc_message

PASSWORD = "s3cret-imap"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def count_reports(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(dmarc_reports)).scalar()


def account_for(server: ImapServer, **changes) -> ImapAccount:
    settings = {"host": "127.0.0.1", "port": server.port, "username": "reports", "password": PASSWORD, "ca_file": server.cert_path}
    settings.update(changes)
    return ImapAccount(**settings)


def watcher_for(engine, account: ImapAccount) -> ImapWatcher:
    return ImapWatcher(engine, account, kind=None, options=IngestOptions(), stop=threading.Event(), clock=lambda: NOW)


def test_imap_watcher_moves_after_storing(engine, tmp_path):
    with ImapServer(tmp_path) as server:
        server.state.deliver(dmarc_message("a"))
        server.state.deliver(dmarc_message("b"))
        server.state.deliver(ORDINARY)
        watcher = watcher_for(engine, account_for(server, processed_folder="processed", failed_folder="failed"))

        taken = watcher.poll_once()

        folders = server.state.folders
        assert taken == 3
        assert count_reports(engine) == 2
        assert folders["INBOX"] == []
        assert len(folders["processed"]) == 2
        assert len(folders["failed"]) == 1
        assert any(command.startswith("UID MOVE") for command in server.state.commands)


def test_imap_fetch_sets_no_flag_before_storing(tmp_path):
    with ImapServer(tmp_path) as server:
        server.state.deliver(BOUNCE)
        with ImapMailbox(account_for(server)) as mailbox:
            (message,) = mailbox.fetch(mailbox.search())
        assert message.data == BOUNCE
        assert server.state.folders["INBOX"][0].flags == set()


def test_imap_without_folder_flags_seen(engine, tmp_path):
    with ImapServer(tmp_path) as server:
        server.state.deliver(dmarc_message())
        server.state.deliver(dmarc_message("old"), flags=("\\Seen",))
        watcher = watcher_for(engine, account_for(server))

        assert watcher.poll_once() == 1
        assert watcher.poll_once() == 0
        assert [message.flags for message in server.state.folders["INBOX"]] == [{"\\Seen"}, {"\\Seen"}]
        assert count_reports(engine) == 1


def test_imap_without_move_copies_and_expunges(engine, tmp_path):
    with ImapServer(tmp_path, capabilities=("IMAP4rev1", "UIDPLUS")) as server:
        server.state.deliver(dmarc_message())
        watcher = watcher_for(engine, account_for(server, processed_folder="done"))

        watcher.poll_once()

        commands = server.state.commands
        assert server.state.folders["INBOX"] == []
        assert len(server.state.folders["done"]) == 1
        assert any(command.startswith("UID COPY") for command in commands)
        assert any(command.startswith("UID EXPUNGE") for command in commands)


def test_imap_wrong_password_raises_without_leaking(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with ImapServer(tmp_path) as server:
        with pytest.raises(ImapError) as error:
            ImapMailbox(account_for(server, password="wrong-password-123")).open()
    assert "IMAP login to imap://reports@127.0.0.1" in str(error.value)
    assert "wrong-password-123" not in str(error.value)
    assert "wrong-password-123" not in caplog.text


def test_imap_logs_never_contain_password(engine, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with ImapServer(tmp_path) as server:
        server.state.deliver(dmarc_message())
        account = account_for(server, processed_folder="processed")
        watcher_for(engine, account).poll_once()
    assert "imap://reports@127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(account)


def test_imap_untrusted_certificate_rejected(tmp_path):
    with ImapServer(tmp_path) as server:
        with pytest.raises(ImapError) as error:
            ImapMailbox(account_for(server, ca_file=None)).open()
    assert "CERTIFICATE_VERIFY_FAILED" in str(error.value)


def test_imap_account_reads_password_from_environment():
    source = ImapSource(host="imap.example.com", username="reports", password_env="REPORTS_IMAP_PASSWORD")
    account = imap_account(source, {"REPORTS_IMAP_PASSWORD": PASSWORD})
    assert account.password == PASSWORD
    assert account.effective_port == 993
    with pytest.raises(ConfigError) as error:
        imap_account(source, {})
    assert "REPORTS_IMAP_PASSWORD" in str(error.value)
