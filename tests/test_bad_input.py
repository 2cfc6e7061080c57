"""Bad inputs in one batch: each gets a clear error naming where, and the rest is still stored."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

GOOD_SENDGRID = [
    {"email": "someone@gmail.com", "timestamp": 1733300000, "event": "delivered", "sg_event_id": "ev-1",
     "sg_message_id": "m1", "response": "250 OK"},
]

SES_UNKNOWN_TYPE = {
    "eventType": "Teleport",
    "mail": {"timestamp": "2026-12-01T10:00:00.000Z", "messageId": "0100x", "source": "a@shop.example",
             "destination": ["b@yahoo.com"]},
}

POSTFIX_WITH_GARBAGE = (
    "Dec  1 10:00:00 mx1 postfix/qmgr[100]: AAAA000001: from=<news@shop.example>, size=1000, nrcpt=1 (queue active)\n"
    "\x00\x01 this is not a log line at all \xff\n"
    "random words without structure\n"
    "Dec  1 10:00:01 mx1 postfix/smtp[101]: AAAA000001: to=<user@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, "
    "delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
)


def inboxwatch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inboxwatch", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "good-sendgrid.json").write_text(json.dumps(GOOD_SENDGRID))
    (folder / "truncated.json").write_text(json.dumps(GOOD_SENDGRID)[:40])
    (folder / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (folder / "empty.log").write_bytes(b"")
    (folder / "ses-unknown.json").write_text(json.dumps(SES_UNKNOWN_TYPE))
    (folder / "mail.log").write_bytes(POSTFIX_WITH_GARBAGE.encode("latin-1"))
    return folder


def parse_results(batch: Path) -> dict[str, dict]:
    result = inboxwatch("parse", "--json", str(batch), cwd=batch.parent)
    assert result.returncode == 0, result.stderr
    return {Path(obj["file"]).name: obj for obj in map(json.loads, result.stdout.splitlines())}


def test_parse_reports_each_bad_input_with_location(batch: Path):
    results = parse_results(batch)

    assert results["good-sendgrid.json"]["error"] is None
    assert "invalid JSON" in results["truncated.json"]["error"]
    assert "line 1" in results["truncated.json"]["error"]
    assert "unrecognised format" in results["binary.bin"]["error"]
    assert "empty" in results["empty.log"]["error"]
    assert "Teleport" in results["ses-unknown.json"]["error"]
    assert "eventType" in results["ses-unknown.json"]["error"]


def test_parse_skips_garbage_lines_in_log(batch: Path):
    log = parse_results(batch)["mail.log"]
    assert log["error"] is None
    assert [(r["type"], r["recipient"]) for r in log["records"]] == [("delivered", "user@gmail.com")]


def test_ingest_stores_good_inputs_and_quarantines_bad_ones(batch: Path):
    store = batch.parent / "store.db"
    result = inboxwatch("ingest", "--store", "sqlite:///%s" % store, str(batch), cwd=batch.parent)

    assert result.returncode == 0, result.stderr
    with sqlite3.connect(store) as conn:
        stored = sorted(row[0] for row in conn.execute("select source from events"))
        quarantined = {Path(row[0]).name: row[1] for row in conn.execute("select source, reason from quarantine")}
    assert stored == ["postfix", "sendgrid"]
    assert set(quarantined) >= {"truncated.json", "binary.bin", "empty.log", "ses-unknown.json"}
    assert "invalid JSON" in quarantined["truncated.json"]


def test_ingest_exits_non_zero_when_nothing_readable(tmp_path: Path):
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)))
    result = inboxwatch("ingest", "--store", "sqlite:///%s" % (tmp_path / "s.db"), str(tmp_path / "binary.bin"), cwd=tmp_path)
    assert result.returncode != 0
    assert "binary.bin" in result.stdout + result.stderr


def test_config_with_wrong_type_names_key_value_and_allowed(tmp_path: Path):
    config = tmp_path / "inboxwatch.toml"
    config.write_text('[rules.bounce_rate]\nmin_volume = "lots"\n')
    result = inboxwatch("status", "--config", str(config), cwd=tmp_path)
    assert result.returncode != 0
    assert "rules.bounce_rate.min_volume" in result.stderr
    assert "lots" in result.stderr
