"""`inboxwatch ingest` lists, per input, the kinds of records it produced and how many of each."""

from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.service.ingest import ingest_paths
from inboxwatch.service.mail_ingest import ingest_inputs
from test_service_bounce_events import ARF_REPORT, AUTO_REPLY, OPTIONS, POSTFIX_LOG, postfix_dsn, write


def mbox(*messages):
    return "".join("From MAILER-DAEMON Tue Mar  3 10:00:05 2026\n%s\n" % message for message in messages)


def test_mailbox_summary_counts_record_kinds(engine, tmp_path):
    path = write(tmp_path / "returns.mbox", mbox(postfix_dsn(), postfix_dsn(recipient="erin@example.net"), ARF_REPORT, AUTO_REPLY))

    summary = ingest_inputs(engine, [path], options=OPTIONS)

    assert summary.inputs[0].kind == "mbox"
    assert dict(summary.inputs[0].record_kinds) == {"bounce": 2, "complaint": 1, "auto-reply": 1}


def test_log_summary_counts_event_types(engine, tmp_path):
    summary = ingest_paths(engine, [write(tmp_path / "mail.log", POSTFIX_LOG)], options=OPTIONS)

    assert dict(summary.inputs[0].record_kinds) == {"delivered event": 1, "bounced event": 1}


def test_log_ingested_again_still_lists_kinds(engine, tmp_path):
    path = write(tmp_path / "mail.log", POSTFIX_LOG)
    ingest_paths(engine, [path], options=OPTIONS)

    summary = ingest_paths(engine, [path], options=OPTIONS)

    assert summary.inputs[0].duplicates == 2
    assert dict(summary.inputs[0].record_kinds) == {"delivered event": 1, "bounced event": 1}


def test_cli_ingest_prints_record_kinds(tmp_path):
    path = write(tmp_path / "returns.mbox", mbox(postfix_dsn(), postfix_dsn(recipient="erin@example.net"), ARF_REPORT))
    store = "sqlite:///%s" % (tmp_path / "store.db")

    result = CliRunner().invoke(cli, ["ingest", "--store", store, path])

    assert result.exit_code == 0, result.output
    assert "returns.mbox (mbox): 3 stored" in result.output
    assert "    records: bounce 2, complaint 1" in result.output
