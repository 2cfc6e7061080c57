from click.testing import CliRunner

from inboxwatch.cli.main import cli

TEST_LOG = """\
Mar  3 10:00:01 mx1 postfix/qmgr[102]: 4ABC1: from=<news@example.com>, size=1234, nrcpt=1 (queue active)
Mar  3 10:00:02 mx1 postfix/smtp[103]: 4ABC1: to=<alice@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)
Mar  3 10:00:05 mx1 postfix/qmgr[102]: 4ABC1: removed
"""


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)


def test_cli_ingest_prints_summary(tmp_path):
    log = tmp_path / "mail.log"
    log.write_text(TEST_LOG)
    result = run("ingest", "--store", "sqlite:///%s" % (tmp_path / "cli.db"), str(log))
    assert result.exit_code == 0, result.output
    assert "1 event stored, 0 duplicates skipped, 0 items rejected" in result.output


def test_cli_ingest_nothing_readable_exits_1(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    result = run("ingest", str(empty), env={"INBOXWATCH_STORE": "sqlite:///%s" % (tmp_path / "cli.db")})
    assert result.exit_code == 1
    assert "not read: empty input" in result.output
    assert (tmp_path / "cli.db").exists()


def test_cli_status_historical_data_uses_latest_event(tmp_path):
    store = "sqlite:///%s" % (tmp_path / "cli.db")
    log = tmp_path / "mail.log"
    log.write_text(TEST_LOG)
    run("ingest", "--store", store, str(log))
    result = run("status", "--store", store)
    assert result.exit_code == 0, result.output
    assert "latest event in the store" in result.output
    assert "gmail" in result.output
    assert "No firing alerts." in result.output


def test_cli_status_explicit_now_empty_windows(tmp_path):
    result = run("status", "--store", "sqlite:///%s" % (tmp_path / "cli.db"), "--now", "2026-01-01T00:00")
    assert result.exit_code == 0, result.output
    assert "2026-01-01 00:00:00 UTC (--now)" in result.output


def test_cli_quarantine_list_escapes_terminal_controls(tmp_path):
    store = "sqlite:///%s" % (tmp_path / "cli.db")
    text = tmp_path / "escapes.txt"
    text.write_bytes(b"hello \x1b[31mRED\x1b[0m \x1b]0;new-title\x07 world\n")
    run("ingest", "--store", store, str(text))
    result = run("quarantine", "list", "--store", store)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "\x07" not in result.output
    assert "\\x1b]0;new-title\\x07" in result.output
