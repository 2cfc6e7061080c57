"""Grades and recommendations from outcome counts, against the packaged and configured benchmark tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from inboxwatch.analysis.grades import PostmasterSpamRate, build_benchmarks, default_tables, grade_providers, missing_data_note
from inboxwatch.cli.main import cli
from inboxwatch.config.loader import validate_config
from inboxwatch.errors import ConfigError
from inboxwatch.service.complaint_sources import configured_complaint_sources, has_complaint_data
from inboxwatch.store.db import open_engine
from inboxwatch.model.reputation import PostmasterDayRecord
from inboxwatch.store.bounce_reasons import bounce_reason_counts
from inboxwatch.store.metrics import CountRow
from inboxwatch.store.reputation import store_postmaster
from inboxwatch.store.schema import events, rollups, rollups_hourly, rollups_quarter_hour


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


def test_grades_without_complaint_data():
    report = grade_providers([counts("gmail", 100000, 500, 0)], DEFAULTS, 7, 500, complaint_data=False)
    (provider,) = report.providers
    complaint = provider.metrics[2]
    assert complaint.metric == "complaint_rate"
    assert complaint.grade is None
    assert complaint.has_data is False
    assert complaint.value is None
    assert [item.grade for item in provider.metrics[:2]] == ["A", "A"]
    assert provider.overall == "A"
    assert report.metrics_without_data == ("complaint_rate",)
    assert missing_data_note(report).startswith("based on delivery rate and bounce rate only; no complaint data")


def test_grades_complained_event_counts_as_data():
    report = grade_providers([counts("gmail", 100000, 500, 248)], DEFAULTS, 7, 500, complaint_data=False)
    assert report.providers[0].metrics[2].grade == "D"
    assert report.metrics_without_data == ()
    assert missing_data_note(report) is None


def test_complaint_sources_from_config():
    assert configured_complaint_sources(validate_config({}, source="test")) == []
    config = validate_config(
        {"sources": {"logs": [{"path": "/var/log/mail.log", "kind": "postfix"}], "maildirs": [{"path": "/var/mail/fbl"}]}}, source="test"
    )
    assert configured_complaint_sources(config) == ["/var/mail/fbl"]


def store_with_postfix_mail(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    bucket = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
    row = {
        "bucket": bucket, "tenant": "default", "provider": "gmail", "sending_ip": "203.0.113.10", "sending_domain": "shop.example",
        "campaign": "", "sent": 2000, "delivered": 1990, "deferred": 0, "bounced": 10, "hard_bounced": 0, "complained": 0,
        "opened": 0, "clicked": 0, "unsubscribed": 0, "dropped": 0,
    }
    with engine.begin() as conn:
        conn.execute(rollups.insert(), [row])
        conn.execute(rollups_quarter_hour.insert(), [row])
        conn.execute(rollups_hourly.insert(), [row])
    return engine


def esp_event(time: datetime) -> dict:
    return {"event_key": "k" * 64, "time": time, "type": "delivered", "source": "sendgrid", "tenant": "default", "provider": "gmail"}


def test_complaint_data_from_stored_events(tmp_path):
    engine = store_with_postfix_mail(tmp_path)
    config = validate_config({}, source="test")
    end = datetime(2026, 3, 5, tzinfo=timezone.utc)
    with engine.begin() as conn:
        assert has_complaint_data(conn, config, end) is False
        conn.execute(events.insert().values(**esp_event(end + timedelta(hours=1))))
        assert has_complaint_data(conn, config, end) is False
        assert has_complaint_data(conn, config, end + timedelta(days=1)) is True
        assert has_complaint_data(conn, config, end + timedelta(days=1), tenant="other") is False
    engine.dispose()


def test_grades_command_no_complaint_source(tmp_path):
    engine = store_with_postfix_mail(tmp_path)
    engine.dispose()
    store = "sqlite:///%s" % (tmp_path / "store.db")
    result = CliRunner().invoke(cli, ["grades", "--store", store, "--now", "2026-03-05T00:00:00Z", "--days", "2"])
    assert result.exit_code == 0, result.output
    gmail = next(line for line in result.output.splitlines() if line.startswith("Gmail"))
    assert "no data" in gmail
    assert "0.00%" not in gmail
    assert "Overall grade: A (based on delivery rate and bounce rate only; no complaint data" in result.output


def test_grades_gmail_complaints_from_postmaster():
    spam = PostmasterSpamRate(0.0042, 3)
    rows = [counts("gmail", 100000, 500, 0), counts("yahoo", 100000, 500, 0)]
    report = grade_providers(rows, DEFAULTS, 7, 500, complaint_data=False, postmaster_spam=spam)
    gmail, yahoo = report.providers
    complaint = gmail.metrics[2]
    assert complaint.source == "Postmaster Tools spam rate, mean of 3 daily rates"
    assert complaint.value == pytest.approx(0.0042)
    assert complaint.grade == "F"
    assert yahoo.metrics[2].has_data is False
    assert yahoo.metrics[2].source == ""
    assert report.recommendations[0].startswith(
        "Gmail complaint rate 0.42% over 7 days (Postmaster Tools spam rate, mean of 3 daily rates), grade F: above Google's 0.1% guidance; "
    )
    assert missing_data_note(report).endswith("; except Gmail, whose complaint rate is Postmaster Tools' spam rate")


def test_grades_gmail_event_complaints_outrank_postmaster():
    report = grade_providers([counts("gmail", 100000, 500, 20)], DEFAULTS, 7, 500, postmaster_spam=PostmasterSpamRate(0.0042, 3))
    complaint = report.providers[0].metrics[2]
    assert complaint.source == ""
    assert complaint.grade == "A"


def test_grades_blocklist_bounces_advice():
    reasons = {"microsoft": {"blocked": 250, "badreputation": 30, "userunknown": 20, "unknown": 400}}
    report = grade_providers([counts("microsoft", 10000, 300, 0)], DEFAULTS, 7, 500, bounce_reasons=reasons)
    (text,) = [text for text in report.recommendations if "bounce rate" in text]
    assert "suppress hard-bounced addresses" not in text
    assert "(280 of 300 bounces with a known reason: blocked 250, badreputation 30)" in text
    assert "inboxwatch check blocklists" in text


def test_grades_address_bounces_keep_hygiene_advice():
    reasons = {"microsoft": {"blocked": 100, "userunknown": 200}}
    report = grade_providers([counts("microsoft", 10000, 300, 0)], DEFAULTS, 7, 500, bounce_reasons=reasons)
    (text,) = [text for text in report.recommendations if "bounce rate" in text]
    assert "suppress hard-bounced addresses" in text


def test_grades_command_postmaster_spam_rate(tmp_path):
    engine = store_with_postfix_mail(tmp_path)
    with engine.begin() as conn:
        days = [PostmasterDayRecord("shop.example", date(2026, 3, day), "v2", spam_rate=0.0042) for day in (3, 4)]
        store_postmaster(conn, days, tenant="default", now=datetime(2026, 3, 5, tzinfo=timezone.utc))
    engine.dispose()
    store = "sqlite:///%s" % (tmp_path / "store.db")
    result = CliRunner().invoke(cli, ["grades", "--store", store, "--now", "2026-03-05T00:00:00Z", "--days", "2"])
    assert result.exit_code == 0, result.output
    gmail = next(line for line in result.output.splitlines() if line.startswith("Gmail"))
    assert "F 0.42% (Postmaster)" in gmail
    assert "Source of Gmail complaint rate: Postmaster Tools spam rate, mean of 2 daily rates" in result.output


def test_bounce_reason_counts_per_provider(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    end = datetime(2026, 3, 5, tzinfo=timezone.utc)
    rows = [
        ("microsoft", "blocked", end - timedelta(hours=1)),
        ("microsoft", "blocked", end - timedelta(hours=2)),
        ("microsoft", None, end - timedelta(hours=3)),
        ("gmail", "userunknown", end - timedelta(hours=1)),
        ("gmail", "userunknown", end + timedelta(hours=1)),
    ]
    with engine.begin() as conn:
        for index, (provider, reason, time) in enumerate(rows):
            conn.execute(events.insert().values(event_key="%064d" % index, time=time, type="bounced", source="postfix", tenant="default", provider=provider, bounce_reason=reason))
        counts_by_provider = bounce_reason_counts(conn, end - timedelta(days=1), end)
    engine.dispose()
    assert counts_by_provider == {"microsoft": {"blocked": 2, "unknown": 1}, "gmail": {"userunknown": 1}}
