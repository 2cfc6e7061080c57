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
