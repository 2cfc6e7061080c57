"""`inboxwatch run` polling a maildir and an IMAP mailbox on 127.0.0.1, filing messages once stored."""

from __future__ import annotations

import mailbox
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imapserver import ImapServer
from mailbox_support import ORDINARY, dmarc_message

PASSWORD = "s3cret-imap"


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met within %s s" % timeout)


def report_ids(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        try:
            return {row[0] for row in conn.execute("select report_id from dmarc_reports")}
        except sqlite3.OperationalError:
            return set()


@pytest.mark.slow
def test_run_polls_maildir_and_imap(tmp_path: Path):
    box = mailbox.Maildir(str(tmp_path / "reports"), create=True)
    box.add(dmarc_message("from-maildir"))
    box.add(ORDINARY)
    with ImapServer(tmp_path) as server:
        server.state.deliver(dmarc_message("from-imap"))
        (tmp_path / "inboxwatch.toml").write_text(
            '[store]\nurl = "sqlite:///run.db"\n\n'
            '[[sources.maildirs]]\npath = "reports"\npoll_interval = "1s"\n\n'
            '[[sources.imap]]\nhost = "127.0.0.1"\nport = %d\nusername = "reports"\npassword_env = "TEST_IMAP_PASSWORD"\n'
            'ca_file = "%s"\nprocessed_folder = "processed"\npoll_interval = "1s"\n' % (server.port, server.cert_path)
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "inboxwatch", "-v", "run", "--no-http", "--config", str(tmp_path / "inboxwatch.toml")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TEST_IMAP_PASSWORD": PASSWORD},
        )
        try:
            wait_for(lambda: report_ids(tmp_path / "run.db") == {"from-maildir", "from-imap"})
            wait_for(lambda: len(server.state.folders.get("processed", [])) == 1)
            wait_for(lambda: len(box) == 0)
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert len(box.get_folder("processed")) == 1
    assert len(box.get_folder("failed")) == 1
    assert PASSWORD not in output


def test_run_missing_password_stops_cleanly(tmp_path: Path):
    (tmp_path / "inboxwatch.toml").write_text(
        '[store]\nurl = "sqlite:///run.db"\n\n'
        '[[sources.imap]]\nhost = "127.0.0.1"\nusername = "reports"\npassword_env = "TEST_IMAP_PASSWORD_UNSET"\n'
    )
    environment = {name: value for name, value in os.environ.items() if name != "TEST_IMAP_PASSWORD_UNSET"}
    result = subprocess.run(
        [sys.executable, "-m", "inboxwatch", "run", "--no-http", "--config", str(tmp_path / "inboxwatch.toml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=environment,
    )
    assert result.returncode == 1
    assert "cannot start the service" in result.stderr
    assert "TEST_IMAP_PASSWORD_UNSET" in result.stderr
    assert "Traceback" not in result.stderr
