"""DMARC daily pass rates and the pass-rate signal."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from inboxwatch.analysis.dmarc import DailyDmarc, daily_pass_rates, pass_rate_signal
from inboxwatch.model.reports import ReportTotals
from inboxwatch.parsers.dmarc import parse_report
from inboxwatch.store.reports import dmarc_report_totals, store_aggregate_reports
from report_support import fixture

# 2023-11-14 00:00:00 UTC.
DAY_START = 1699920000
DAY = 86400
NOW = datetime(2023, 11, 20, tzinfo=timezone.utc)


def test_daily_pass_rates_add_reports_per_day():
    reports = [
        ReportTotals(DAY_START, DAY_START + DAY - 1, messages=100, dmarc_pass=90),
        ReportTotals(DAY_START, DAY_START + DAY - 1, messages=50, dmarc_pass=0),
    ]
    (day,) = daily_pass_rates(reports)
    assert day.day == date(2023, 11, 14)
    assert day.messages == pytest.approx(150)
    assert day.pass_rate == pytest.approx(0.6)


def test_daily_pass_rates_spread_two_day_report():
    # From noon on 14 Nov to noon on 16 Nov: a quarter, a half and a quarter.
    report = ReportTotals(DAY_START + DAY // 2, DAY_START + 2 * DAY + DAY // 2, messages=40, dmarc_pass=40)
    days = daily_pass_rates([report])
    assert [day.day for day in days] == [date(2023, 11, 14), date(2023, 11, 15), date(2023, 11, 16)]
    assert [day.messages for day in days] == pytest.approx([10, 20, 10])


def test_pass_rate_signal_breached_below_threshold():
    signal = pass_rate_signal("sender.example", DailyDmarc(date(2023, 11, 14), 1000, 800), threshold=0.9, min_volume=100, time=NOW)
    assert signal is not None
    assert signal.breached is True
    assert signal.value == pytest.approx(0.8)
    assert signal.denominator == 1000
    assert signal.labels == {"tenant": "default", "domain": "sender.example"}
    assert "80.0% of 1000 messages passed DMARC on 2023-11-14" in signal.summary


def test_pass_rate_signal_clear_at_threshold():
    signal = pass_rate_signal("sender.example", DailyDmarc(date(2023, 11, 14), 1000, 900), threshold=0.9, min_volume=100, time=NOW)
    assert signal is not None
    assert signal.breached is False


def test_pass_rate_signal_none_under_min_volume():
    day = DailyDmarc(date(2023, 11, 14), 99, 0)
    assert pass_rate_signal("sender.example", day, threshold=0.9, min_volume=100, time=NOW) is None


def test_report_totals_from_store(engine):
    with engine.begin() as conn:
        store_aggregate_reports(conn, [parse_report(fixture("dmarc-rfc7489.xml"), "test")], tenant="default", now=NOW)
    with engine.connect() as conn:
        totals = dmarc_report_totals(conn, "sender.example", datetime(2023, 11, 1, tzinfo=timezone.utc), NOW)
    assert totals == [ReportTotals(1700000000, 1700086399, messages=1240, dmarc_pass=1234)]
