"""Ctrl-C during `inboxwatch ingest`: what was read is stored and counted, and a second run stores the rest."""

import signal
import sqlite3
import subprocess
import sys
import time

from test_ingest_child_parse import postfix_log

MESSAGES = 40_000


def test_interrupted_ingest_counts_and_resumes(tmp_path):
    log = tmp_path / "mail.log"
    log.write_text(postfix_log(MESSAGES))
    db = tmp_path / "store.db"
    command = [sys.executable, "-m", "inboxwatch", "ingest", "--store", "sqlite:///%s" % db, str(log)]

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Interrupt once the first batches are committed, like a user pressing Ctrl-C.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None and stored_events(db) == 0:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    if process.returncode == 0:
        # The machine finished the whole log before the signal arrived: nothing to check.
        assert stored_events(db) == 2 * MESSAGES
        return
    assert process.returncode == 130, stderr
    assert "interrupted: run the same command again" in stderr
    with sqlite3.connect(db) as conn:
        finished, counted = conn.execute("SELECT finished_at, events_stored FROM ingests").fetchone()
    assert finished is not None
    assert counted == stored_events(db)
    assert "%d event" % counted in stdout
    assert "stopped early: interrupted before the end" in stdout

    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert stored_events(db) == 2 * MESSAGES
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(DISTINCT event_key) FROM events").fetchone()[0] == 2 * MESSAGES


def stored_events(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:
        # The store is still being created and migrated.
        return 0


def test_interrupted_ingest_lists_unread_inputs(engine, tmp_path):
    import threading

    import pytest

    from inboxwatch.service.ingest import NOT_STARTED, IngestInterrupted
    from inboxwatch.service.mail_ingest import ingest_inputs

    paths = []
    for name in ("a.log", "b.log", "c.log"):
        path = tmp_path / name
        path.write_text(postfix_log(3))
        paths.append(str(path))
    stop = threading.Event()
    stop.set()  # as if Ctrl-C came during the first input

    with pytest.raises(IngestInterrupted) as raised:
        ingest_inputs(engine, paths, stop=stop)

    inputs = raised.value.summary.inputs
    assert [item.source for item in inputs] == paths
    assert inputs[0].error.startswith("interrupted before the end")
    assert [item.error for item in inputs[1:]] == [NOT_STARTED, NOT_STARTED]
