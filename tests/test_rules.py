"""Threshold rules judged on hand-built counts: levels, overrides, minimum volume, Wilson bounds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.analysis.rates import rates_for
from inboxwatch.analysis.rules import Levels, ThresholdRule, judge, percent
from inboxwatch.config import default_config
from inboxwatch.model.alerts import Severity
from inboxwatch.service.evaluate import threshold_rules
from inboxwatch.store.metrics import CountRow

AT = datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc)

RULES = {rule.name: rule for rule in threshold_rules(default_config())}


def counts(sent: int = 0, delivered: int = 0, bounced: int = 0, hard_bounced: int = 0, complained: int = 0) -> CountRow:
    return CountRow(
        key=("default", "other"),
        sent=sent,
        delivered=delivered,
        deferred=0,
        bounced=bounced,
        hard_bounced=hard_bounced,
        complained=complained,
        opened=0,
        clicked=0,
        unsubscribed=0,
        dropped=0,
    )


def judge_counts(rule: ThresholdRule, row: CountRow, provider: str = "other"):
    return judge(rule, {"tenant": "default", "provider": provider}, rates_for(row)[rule.metric], AT)


# Each case: rule, provider, counts, then the expected (breached, severity) or None for no signal.
CASES = [
    pytest.param("delivery_rate", "other", counts(sent=1000, delivered=960), (False, Severity.INFO), id="delivery-clear"),
    pytest.param("delivery_rate", "other", counts(sent=1000, delivered=940), (True, Severity.WARNING), id="delivery-warning"),
    pytest.param("delivery_rate", "other", counts(sent=1000, delivered=890), (True, Severity.CRITICAL), id="delivery-critical"),
    # 96% is fine in general but a warning for Gmail, whose levels are 98% and 95%.
    pytest.param("delivery_rate", "gmail", counts(sent=1000, delivered=960), (True, Severity.WARNING), id="gmail-override-warning"),
    pytest.param("delivery_rate", "gmail", counts(sent=1000, delivered=940), (True, Severity.CRITICAL), id="gmail-override-critical"),
    # A rate equal to a level does not cross it: 5% is clear, 10% only a warning.
    pytest.param("bounce_rate", "other", counts(sent=200, delivered=190, bounced=10), (False, Severity.INFO), id="bounce-at-warning-level"),
    pytest.param("bounce_rate", "other", counts(sent=200, delivered=180, bounced=20), (True, Severity.WARNING), id="bounce-at-critical-level"),
    pytest.param("bounce_rate", "other", counts(sent=200, delivered=175, bounced=25), (True, Severity.CRITICAL), id="bounce-critical"),
    # 4% is under the general 5% warning but over Microsoft's 3%.
    pytest.param("bounce_rate", "microsoft", counts(sent=500, delivered=480, bounced=20), (True, Severity.WARNING), id="microsoft-override"),
    pytest.param("bounce_rate", "other", counts(sent=500, delivered=480, bounced=20), (False, Severity.INFO), id="no-override-other"),
    pytest.param("hard_bounce_rate", "other", counts(sent=1000, bounced=30, hard_bounced=30), (True, Severity.WARNING), id="hard-bounce-warning"),
    pytest.param("complaint_rate", "other", counts(sent=2000, delivered=2000, complained=7), (True, Severity.CRITICAL), id="complaint-critical"),
    pytest.param("complaint_rate", "other", counts(sent=2000, delivered=2000, complained=1), (False, Severity.INFO), id="complaint-clear"),
    # Under the minimum volume nothing is produced, not even a clear signal.
    pytest.param("bounce_rate", "other", counts(sent=99, delivered=49, bounced=50), None, id="below-min-volume"),
    pytest.param("complaint_rate", "other", counts(sent=999, delivered=999, complained=0), None, id="complaint-below-min"),
    pytest.param("delivery_rate", "other", counts(), None, id="no-traffic"),
]


@pytest.mark.parametrize(("rule_name", "provider", "row", "expected"), CASES)
def test_rule_judges_counts(rule_name, provider, row, expected):
    signal = judge_counts(RULES[rule_name], row, provider)

    if expected is None:
        assert signal is None
        return
    assert signal is not None
    assert (signal.breached, signal.severity) == expected
    assert signal.time == AT
    assert signal.labels == {"tenant": "default", "provider": provider}


def test_rule_signal_carries_figures_and_summary():
    signal = judge_counts(RULES["bounce_rate"], counts(sent=200, delivered=175, bounced=25), "microsoft")

    assert signal.value == pytest.approx(0.125)
    assert signal.threshold == pytest.approx(0.08)
    assert signal.denominator == 200
    assert signal.summary == "Microsoft bounce rate 12.5% (25/200) over 5m above 8% critical"
    assert signal.annotations["for_seconds"] == 300


def test_rule_clear_summary_names_level():
    signal = judge_counts(RULES["delivery_rate"], counts(sent=1000, delivered=991), "gmail")

    assert signal.summary == "Gmail delivery rate 99.1% (991/1000) over 5m, not below the 98% warning level"


def test_rule_wilson_keeps_small_sample_quiet():
    plain = ThresholdRule("bounces", "bounce_rate", "above", Levels(0.05, 0.10), min_volume=20)
    wilson = ThresholdRule("bounces", "bounce_rate", "above", Levels(0.05, 0.10), min_volume=20, use_wilson=True)
    # 3 of 25 is 12%, but the Wilson lower bound (z = 1.96) is about 4.2%.
    row = counts(sent=25, delivered=22, bounced=3)

    assert judge_counts(plain, row).severity == Severity.CRITICAL
    quiet = judge_counts(wilson, row)
    assert quiet.breached is False
    assert quiet.annotations["judged_value"] < 0.05
    assert "Wilson lower bound" in quiet.summary


def test_rule_wilson_fires_on_large_sample():
    wilson = ThresholdRule("bounces", "bounce_rate", "above", Levels(0.05, 0.10), use_wilson=True)
    row = counts(sent=2000, delivered=1760, bounced=240)

    assert judge_counts(wilson, row).severity == Severity.CRITICAL


def test_rule_wilson_below_rule_uses_upper_bound():
    wilson = ThresholdRule("delivery", "delivery_rate", "below", Levels(0.95, 0.90), min_volume=20, use_wilson=True)
    # 27 of 30 is 90%, but the upper bound is about 96.5%, above both levels.
    signal = judge_counts(wilson, counts(sent=30, delivered=27))

    assert signal.breached is False
    assert signal.annotations["judged_value"] > 0.95
    assert "Wilson upper bound" in signal.summary


def test_rule_with_only_critical_level():
    rule = ThresholdRule("deferrals", "bounce_rate", "above", Levels(None, 0.2))

    assert judge_counts(rule, counts(sent=100, bounced=15)).breached is False
    assert judge_counts(rule, counts(sent=100, bounced=25)).severity == Severity.CRITICAL


def test_rule_rejects_unknown_direction():
    with pytest.raises(ValueError, match="direction"):
        ThresholdRule("x", "bounce_rate", "sideways", Levels(0.1, 0.2))


def test_rules_from_config_keep_durations():
    rule = RULES["complaint_rate"]

    assert rule.window == timedelta(minutes=10)
    assert rule.hold_for == timedelta(minutes=10)
    assert rule.min_volume == 1000


@pytest.mark.parametrize(
    ("fraction", "text"), [(0.125, "12.5%"), (0.9, "90%"), (0.001, "0.1%"), (0.9995, "99.95%")], ids=str
)
def test_percent_format(fraction, text):
    assert percent(fraction) == text
