"""Anomaly detectors on small hand-built hourly series; the clock is the `at` argument."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.analysis.anomaly.cusum import bernoulli_cusum
from inboxwatch.analysis.anomaly.detectors import judge_complaints, judge_rate_ewma, judge_volume, rate_window
from inboxwatch.analysis.anomaly.ewma import ewma_chart, pool_batches
from inboxwatch.analysis.anomaly.findings import to_signal
from inboxwatch.analysis.anomaly.fleet import detect
from inboxwatch.analysis.anomaly.parameters import AnomalyParameters
from inboxwatch.analysis.anomaly.robust import median_and_mad, robust_z
from inboxwatch.analysis.anomaly.shrinkage import fit_prior, posterior, prior_from_mean
from inboxwatch.store.metrics import CountRow

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
PARAMS = AnomalyParameters()
LABELS = {"tenant": "default", "provider": "gmail"}


def row(sent: int, bounced: int = 0, complained: int = 0, deferred: int = 0) -> CountRow:
    return CountRow(("gmail",), sent, sent - bounced, deferred, bounced, 0, complained, 0, 0, 0, 0)


def steady(hours: int, make) -> list[tuple[datetime, CountRow]]:
    return [(START + index * HOUR, make(index)) for index in range(hours)]


def test_cusum_in_control_stays_low():
    result = bernoulli_cusum([(1, 1000)] * 24, p0=0.001, p1=0.002)
    assert result.statistic < 3


def test_cusum_shift_accumulates():
    result = bernoulli_cusum([(3, 1000)] * 24, p0=0.001, p1=0.002)
    assert result.statistic > 9
    assert result.run_numerator == 72


def test_cusum_invalid_rates_raise():
    with pytest.raises(ValueError, match="expected 0 < p0 < p1 < 1"):
        bernoulli_cusum([(1, 10)], p0=0.2, p1=0.1)


def test_ewma_without_data_returns_none():
    assert ewma_chart([(0, 0)], p0=0.01, tau2=0.0, smoothing=0.3) is None


def test_pool_batches_merges_quiet_hours():
    assert pool_batches([(1, 7), (0, 90), (0, 120), (2, 300), (0, 5)], 200) == [(1, 217), (2, 300)]


def test_robust_z_mad_floor_applies():
    center, spread = median_and_mad([10, 10, 10, 10, 10])
    assert spread == 0
    assert robust_z(0, center, spread, floor=50) == pytest.approx(-0.2)


def test_median_and_mad_skips_nan():
    assert median_and_mad([1.0, math.nan, 3.0, None, math.inf]) == (2.0, pytest.approx(1.4826))


def test_shrinkage_small_stream_moves_toward_fleet():
    prior = prior_from_mean(0.01, 2000)
    small = posterior(2, 40, prior)
    large = posterior(5000, 100000, prior)
    assert abs(small.mean - 0.01) < 0.002
    assert large.mean == pytest.approx(0.05, abs=0.001)


def test_fit_prior_without_volume_returns_none():
    assert fit_prior([(0, 0)], 2000) is None


def test_complaints_creep_is_anomalous():
    series = steady(16 * 24, lambda i: row(2000, complained=1 if i % 2 else 0))
    series += [(START + (16 * 24 + i) * HOUR, row(2000, complained=4)) for i in range(30)]
    at = series[-1][0] + HOUR
    finding = judge_complaints(rate_window(series, "complaint_rate", at, PARAMS), LABELS, None, PARAMS)
    assert finding is not None
    assert finding.anomalous
    assert finding.expected == pytest.approx(0.00025, rel=0.1)
    assert finding.observed > 0.0015


def test_complaints_young_hours_not_judged():
    series = steady(16 * 24, lambda i: row(2000, complained=1 if i % 2 else 0))
    # Complaints for the last 6 hours have not arrived yet: those hours are immature and skipped.
    series += [(START + (16 * 24 + i) * HOUR, row(2000, complained=40)) for i in range(6)]
    at = series[-1][0] + HOUR
    finding = judge_complaints(rate_window(series, "complaint_rate", at, PARAMS), LABELS, None, PARAMS)
    assert finding is not None
    assert not finding.anomalous
    assert finding.window_end == at - timedelta(hours=6)


def test_bounce_spike_is_anomalous():
    series = steady(16 * 24, lambda i: row(1000, bounced=10 + i % 3))
    series += [(START + (16 * 24 + i) * HOUR, row(1000, bounced=90)) for i in range(3)]
    at = series[-1][0] + 2 * HOUR
    finding = judge_rate_ewma(rate_window(series, "bounce_rate", at, PARAMS), LABELS, None, PARAMS)
    assert finding is not None
    assert finding.anomalous
    assert finding.confidence > 0.99


def test_bounce_quiet_night_not_anomalous():
    series = steady(16 * 24, lambda i: row(1000, bounced=10 + i % 3))
    # Two bounces among 7 messages at night: 29% on paper, noise in fact.
    series += [(START + (16 * 24) * HOUR, row(7, bounced=2))]
    at = series[-1][0] + 2 * HOUR
    finding = judge_rate_ewma(rate_window(series, "bounce_rate", at, PARAMS), LABELS, None, PARAMS)
    assert finding is not None
    assert not finding.anomalous


def test_rate_without_baseline_returns_none():
    series = steady(30, lambda i: row(100, bounced=1))
    assert rate_window(series, "bounce_rate", START + 40 * HOUR, PARAMS) is None


def test_volume_drop_is_anomalous():
    series = steady(3 * 168 + 10, lambda i: row(5000 if (i % 24) >= 8 else 100))
    drop_start = series[-4][0]
    series = [(start, row(500) if start >= drop_start and (start.hour >= 8) else value) for start, value in series]
    at = series[-1][0] + 2 * HOUR
    finding = judge_volume(series, LABELS, at, PARAMS)
    assert finding is not None
    assert finding.anomalous
    assert finding.expected > finding.observed


def test_volume_quiet_night_to_zero_not_anomalous():
    series = steady(3 * 168 + 4, lambda i: row(5000 if (i % 24) >= 8 else 100))
    series = series[:-3] + [(start, row(0)) for start, _ in series[-3:]]
    at = series[-1][0] + 2 * HOUR
    assert series[-1][0].hour < 8
    finding = judge_volume(series, LABELS, at, PARAMS)
    assert finding is not None
    assert not finding.anomalous


def test_volume_short_history_returns_none():
    series = steady(100, lambda i: row(1000))
    assert judge_volume(series, LABELS, START + 101 * HOUR, PARAMS) is None


def test_detect_signal_carries_expected_and_confidence():
    series = steady(16 * 24, lambda i: row(1000, bounced=10 + i % 3))
    series += [(START + (16 * 24 + i) * HOUR, row(1000, bounced=90)) for i in range(3)]
    at = series[-1][0] + 2 * HOUR
    findings = detect({(("provider", "gmail"), ("tenant", "default")): series}, at, PARAMS, metrics=("bounce_rate",))
    signal = to_signal(findings[0], at)
    assert signal.rule == "anomaly_bounce_rate"
    assert signal.breached
    assert signal.annotations["expected"] == pytest.approx(0.011, abs=0.001)
    assert "Gmail bounce rate" in signal.summary
    assert "expected 1.1%" in signal.summary
