"""The `inboxwatch run` service as a process: follow, watch, stop on SIGTERM, resume."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

QUEUE_LINES = (
    "Dec  1 10:00:0{n} mx1 postfix/qmgr[100]: {qid}: from=<news@shop.example>, size=1000, nrcpt=1 (queue active)\n"
    "Dec  1 10:00:0{n} mx1 postfix/smtp[101]: {qid}: to=<user{n}@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, "
    "delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 OK 1733000000 x - gsmtp)\n"
    "Dec  1 10:00:0{n} mx1 postfix/qmgr[100]: {qid}: removed\n"
)

SES_DELIVERY = {
    "eventType": "Delivery",
    "mail": {"timestamp": "2026-12-01T10:00:00.000Z", "messageId": "0100abc", "source": "news@shop.example",
             "destination": ["someone@yahoo.com"]},
    "delivery": {"timestamp": "2026-12-01T10:00:02.000Z", "recipients": ["someone@yahoo.com"],
                 "smtpResponse": "250 ok dirdel", "reportingMTA": "a8-1.smtp-out.amazonses.com"},
}


def postfix_lines(start: int, count: int) -> str:
    return "".join(QUEUE_LINES.format(n=n, qid="ABCDEF%04d" % n) for n in range(start, start + count))


def start_service(folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "inboxwatch", "-v", "run", "--config", str(folder / "inboxwatch.toml")],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop_service(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    return output


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met within %s s" % timeout)


def count_events(db: Path, event_type: str | None = None) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            if event_type:
                return conn.execute("select count(*) from events where type = ?", (event_type,)).fetchone()[0]
            return conn.execute("select count(*) from events").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


@pytest.fixture
def service_folder(tmp_path: Path) -> Path:
    (tmp_path / "drop").mkdir()
    (tmp_path / "inboxwatch.toml").write_text(
        '[store]\nurl = "sqlite:///run.db"\nrecipient_retention = "full"\n\n'
        '[[sources.logs]]\npath = "mail.log"\nkind = "postfix"\n\n'
        '[[sources.folders]]\npath = "drop"\n'
    )
    (tmp_path / "mail.log").write_text(postfix_lines(0, 3))
    return tmp_path


@pytest.mark.slow
def test_run_follows_log_and_resumes_after_sigterm(service_folder: Path):
    db = service_folder / "run.db"
    process = start_service(service_folder)
    try:
        wait_for(lambda: count_events(db, "delivered") == 3)
        with open(service_folder / "mail.log", "a") as log:
            log.write(postfix_lines(3, 2))
        wait_for(lambda: count_events(db, "delivered") == 5)
    finally:
        output = stop_service(process)
    assert "service stopped" in output

    with open(service_folder / "mail.log", "a") as log:
        log.write(postfix_lines(5, 2))
    process = start_service(service_folder)
    try:
        wait_for(lambda: count_events(db, "delivered") == 7)
    finally:
        stop_service(process)
    assert count_events(db, "delivered") == 7


@pytest.mark.slow
def test_run_ingests_dropped_files_and_sets_aside_unreadable_ones(service_folder: Path):
    db = service_folder / "run.db"
    drop = service_folder / "drop"
    process = start_service(service_folder)
    try:
        (drop / "ses.json").write_text(json.dumps(SES_DELIVERY))
        (drop / "garbage.bin").write_bytes(bytes(range(256)) * 4)
        wait_for(lambda: (drop / "done" / "ses.json").exists() and (drop / "failed" / "garbage.bin").exists())
    finally:
        stop_service(process)
    with sqlite3.connect(db) as conn:
        recipients = {row[0] for row in conn.execute("select recipient from events where source = 'ses'")}
        reasons = [row[0] for row in conn.execute("select reason from quarantine")]
    assert recipients == {"someone@yahoo.com"}
    assert any("unrecognised format" in reason for reason in reasons)


@pytest.mark.slow
def test_run_rejects_invalid_config_with_key_named(tmp_path: Path):
    (tmp_path / "inboxwatch.toml").write_text('[store]\nretention_days = "forever"\n')
    result = subprocess.run(
        [sys.executable, "-m", "inboxwatch", "run", "--config", str(tmp_path / "inboxwatch.toml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "store.retention_days" in result.stderr


@pytest.mark.slow
def test_run_reads_log_rotated_while_stopped(service_folder: Path):
    db = service_folder / "run.db"
    process = start_service(service_folder)
    try:
        wait_for(lambda: count_events(db, "delivered") == 3)
    finally:
        stop_service(process)

    with open(service_folder / "mail.log", "a") as log:
        log.write(postfix_lines(3, 2))
    os.rename(service_folder / "mail.log", service_folder / "mail.log.2")
    (service_folder / "mail.log").write_text(postfix_lines(5, 2))
    process = start_service(service_folder)
    try:
        wait_for(lambda: count_events(db, "delivered") == 7)
    finally:
        output = stop_service(process)
    assert "reading the rest of %s from byte" % (service_folder / "mail.log.2") in output
    assert count_events(db, "delivered") == 7
