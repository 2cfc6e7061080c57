"""`inboxwatch evaluate --from/--to` rejects a range whose start is after its end."""

import pytest
from click.testing import CliRunner

from inboxwatch.cli.main import cli


@pytest.mark.parametrize("end_option", ["--to", "--until"])
def test_cli_evaluate_rejects_reversed_range(tmp_path, end_option):
    store = "sqlite:///%s" % (tmp_path / "store.db")

    result = CliRunner().invoke(
        cli, ["evaluate", "--store", store, "--from", "2026-03-02T12:00", end_option, "2026-03-02T10:00"]
    )

    assert result.exit_code == 2
    assert "invalid time range" in result.output
    assert "--from 2026-03-02T12:00 is later than --to 2026-03-02T10:00" in result.output
    assert not (tmp_path / "store.db").exists()


def test_cli_evaluate_says_when_volume_too_low(tmp_path):
    log = tmp_path / "mail.log"
    log.write_text(
        "Mar  2 10:00:01 mx1 postfix/qmgr[102]: 4ABC1: from=<news@example.com>, size=1234, nrcpt=1 (queue active)\n"
        "Mar  2 10:00:02 mx1 postfix/smtp[103]: 4ABC1: to=<alice@gmail.com>, relay=gmail-smtp-in.l.google.com"
        "[142.250.1.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (550 5.1.1 no such user)\n"
    )
    store = "sqlite:///%s" % (tmp_path / "store.db")
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "--store", store, str(log)]).exit_code == 0

    result = runner.invoke(
        cli, ["evaluate", "--store", store, "--from", "2026-03-02T10:00", "--to", "2026-03-02T10:05", "--no-notify"]
    )

    assert result.exit_code == 0, result.output
    assert "0 fired, 0 resolved" in result.output
    assert "below its rule's min_volume" in result.output
