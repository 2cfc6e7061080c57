"""Grades and recommendations from outcome counts, against the packaged and configured benchmark tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from inboxwatch.analysis.grades import build_benchmarks, default_tables, grade_providers
from inboxwatch.cli.main import cli
from inboxwatch.config.loader import validate_config
from inboxwatch.errors import ConfigError
from inboxwatch.store.metrics import CountRow


def counts(provider: str, sent: int, bounced: int, complained: int) -> CountRow:
    return CountRow((provider,), sent, sent - bounced, 0, bounced, 0, complained, 0, 0, 0, 0)


DEFAULTS = build_benchmarks(default_tables(), {}, {})


def test_grades_healthy_provider_gets_a():
    report = grade_providers([counts("gmail", 100000, 500, 20)], DEFAULTS, 7, 500)
    (provider,) = report.providers
    assert [item.grade for item in provider.metrics] == ["A", "A", "A"]
    assert report.overall == "A"
    assert report.recommendations == ()


def test_grades_gmail_complaints_recommendation():
    report = grade_providers([counts("gmail", 100000, 500, 248)], DEFAULTS, 7, 500)
    assert report.providers[0].overall == "D"
    assert report.recommendations[0].startswith("Gmail complaint rate 0.25% over 7 days (248/99500), grade D: above Google's 0.1% guidance; ")


def test_grades_bounce_under_guidance_names_grade_limit():
    report = grade_providers([counts("microsoft", 10000, 300, 0)], DEFAULTS, 7, 500)
    expected = (
        "Microsoft bounce rate 3% over 7 days (300/10000), grade C: above the 2% limit of grade B; "
        "suppress hard-bounced addresses after the first bounce, validate addresses at sign-up (double opt-in), "
        "and do not send to lists that have not been mailed in over a year."
    )
    assert expected in report.recommendations
    assert len(report.recommendations) == 2


def test_grades_small_provider_not_graded():
    report = grade_providers([counts("apple", 40, 10, 1)], DEFAULTS, 7, 500)
    assert report.providers[0].overall is None
    assert report.overall is None
    assert report.recommendations == ()


def test_grades_overall_weighted_by_volume():
    rows = [counts("gmail", 90000, 500, 20), counts("yahoo", 10000, 1500, 0)]
    report = grade_providers(rows, DEFAULTS, 7, 500)
    assert [provider.overall for provider in report.providers] == ["A", "F"]
    assert report.overall == "B"


def test_grades_configured_table_replaces_default():
    config = validate_config({"grades": {"metrics": {"bounce_rate": {"direction": "above", "a": "5%", "b": "6%", "c": "7%", "d": "8%"}}}}, source="test")
    benchmarks = build_benchmarks(default_tables(), {name: table.model_dump() for name, table in config.grades.metrics.items()}, {})
    report = grade_providers([counts("microsoft", 10000, 300, 0)], benchmarks, 7, 500)
    assert report.providers[0].metrics[1].grade == "A"


def test_grades_config_out_of_order_rejected():
    with pytest.raises(ConfigError, match="out of order"):
        validate_config({"grades": {"metrics": {"bounce_rate": {"direction": "above", "a": "5%", "b": "1%", "c": "7%", "d": "8%"}}}}, source="test")


def test_grades_command_empty_store(tmp_path):
    result = CliRunner().invoke(cli, ["grades", "--store", "sqlite:///%s" % (tmp_path / "store.db"), "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "No mail in the last 3 days" in result.output
