"""Shortcuts of the steady alert cycle give the same results as the long way: lifecycle, matchers, group keys, loading."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from alerting_support import at, breach, cycle, policy_from
from inboxwatch.alerting.grouping import group_key_memo, rose
from inboxwatch.alerting.lifecycle import Timing, apply_signal, with_signal
from inboxwatch.alerting.routing import ALL_LABELS
from inboxwatch.model.alert_groups import group_key, group_labels_of
from inboxwatch.model.alerts import Alert, AlertState, RouteSnapshot, Severity, Signal
from inboxwatch.model.matchers import matches_all, memoized_matcher, parse_matchers
from inboxwatch.store import alerts as alert_store

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
ROUTE = RouteSnapshot("default", ("ops",), (ALL_LABELS,), timedelta(0), timedelta(minutes=5), timedelta(hours=4))


def router(alert: Alert):
    return (ROUTE,), None


def firing_signal(**changes) -> Signal:
    signal = Signal(
        rule="bounce_rate",
        severity=Severity.WARNING,
        labels={"tenant": "default", "provider": "gmail"},
        breached=True,
        time=START,
        value=0.07,
        threshold=0.05,
        denominator=400,
        summary="Gmail bounce rate 7%",
        annotations={"for_seconds": 0.0, "numerator": 28},
    )
    return dataclasses.replace(signal, **changes)


def fired_alert() -> Alert:
    outcome = apply_signal(None, firing_signal(), now=START, timing=Timing(), router=router)
    assert outcome.alert is not None
    assert outcome.alert.state == AlertState.FIRING
    return outcome.alert


def test_repeated_breach_moves_evaluation_only():
    alert = fired_alert()

    outcome = apply_signal(alert, firing_signal(), now=START + MINUTE, timing=Timing(), router=router)

    assert outcome.decision == "updated"
    assert outcome.transitions == ()
    assert outcome.alert == alert.replace(last_evaluated_at=START + MINUTE)
    assert outcome.alert == with_signal(alert, firing_signal(), START + MINUTE)


@pytest.mark.parametrize(
    "changes",
    [
        {"value": 0.08},
        {"threshold": 0.06},
        {"denominator": 500},
        {"summary": "Gmail bounce rate 8%"},
        {"annotations": {"for_seconds": 0.0, "numerator": 32}},
        {"annotations": {"for_seconds": 0.0, "numerator": 28, "runbook": "r1"}},
    ],
    ids=["value", "threshold", "denominator", "summary", "changed-annotation", "new-annotation"],
)
def test_changed_breach_copies_figures(changes):
    alert = fired_alert()
    changed = firing_signal(**changes)

    outcome = apply_signal(alert, changed, now=START + MINUTE, timing=Timing(), router=router)

    assert outcome.decision == "updated"
    assert outcome.alert == with_signal(alert, changed, START + MINUTE)
    assert outcome.alert != alert.replace(last_evaluated_at=START + MINUTE)


def test_repeated_breach_ends_clear_spell():
    alert = fired_alert()
    keep = Timing(keep_firing_for=5 * MINUTE)
    clear = firing_signal(breached=False, severity=Severity.INFO)
    kept = apply_signal(alert, clear, now=START + MINUTE, timing=keep, router=router).alert
    assert kept is not None
    assert kept.clear_since == START + MINUTE

    outcome = apply_signal(kept, firing_signal(), now=START + 2 * MINUTE, timing=keep, router=router)

    assert outcome.decision == "kept"
    assert outcome.alert.clear_since is None


def test_repeated_breach_at_higher_severity_raises():
    alert = fired_alert()

    outcome = apply_signal(alert, firing_signal(severity=Severity.CRITICAL), now=START + MINUTE, timing=Timing(), router=router)

    assert outcome.decision == "raised"
    assert outcome.alert.severity == Severity.CRITICAL


MATCHER_SETS = [
    [],
    ['rule="bounce_rate"'],
    ['provider!="gmail"'],
    ['provider=~"gmail|microsoft"'],
    ['sending_ip!~"10\\..*"'],
    ['tenant="default"', 'provider=~"yahoo|"'],
    ['sending_ip=""'],
]
LABEL_SETS = [
    {"tenant": "default", "provider": "gmail", "rule": "bounce_rate"},
    {"tenant": "default", "provider": "yahoo", "rule": "bounce_rate", "sending_ip": "10.0.0.1"},
    {"tenant": "acme", "provider": "microsoft", "rule": "complaint_rate", "sending_ip": "192.0.2.1"},
    {"tenant": "default", "rule": "bounce_rate"},
    {},
]


@pytest.mark.parametrize("texts", MATCHER_SETS, ids=lambda texts: ",".join(texts) or "none")
def test_memoized_matcher_agrees_with_matches_all(texts):
    matchers = parse_matchers(texts)
    matches = memoized_matcher(matchers)

    # Twice over, so the second pass reads the memo.
    for labels in LABEL_SETS + LABEL_SETS:
        assert matches(labels) == matches_all(matchers, labels), labels


def test_group_key_memo_agrees_with_group_key():
    routes = [
        RouteSnapshot("default", ("ops",), ("tenant", "rule"), timedelta(0), timedelta(minutes=5), timedelta(hours=4)),
        RouteSnapshot("default", ("ops",), ("rule", "tenant"), timedelta(0), timedelta(minutes=5), timedelta(hours=4)),
        RouteSnapshot("routes[0]", ("chat",), ("tenant", "rule", "provider"), timedelta(0), timedelta(minutes=5), timedelta(hours=4)),
        RouteSnapshot("routes[1]", ("pager",), (ALL_LABELS,), timedelta(0), timedelta(minutes=5), timedelta(hours=4)),
    ]
    alerts = [
        fired_alert(),
        fired_alert().replace(labels={"tenant": "default", "provider": "yahoo"}),
        fired_alert().replace(labels={"tenant": "acme"}, rule="complaint_rate"),
    ]
    key_of = group_key_memo()

    for _ in range(2):
        for alert in alerts:
            match_labels = alert.match_labels()
            for route in routes:
                expected = group_key(route.route, group_labels_of(alert, match_labels, route.group_by))
                assert key_of(alert, match_labels, route) == expected, (alert.labels, route.group_by)


def test_rose_compares_stored_severity():
    alert = fired_alert().replace(severity=Severity.CRITICAL)

    assert rose(alert, "warning")
    assert not rose(alert, "critical")
    assert not rose(alert, None)
    with pytest.raises(ValueError, match="'urgent' is not a valid Severity"):
        rose(alert, "urgent")


POLICY = {"route": {"channels": ["ops"], "group_wait": "0s"}}


def test_open_alerts_reads_rows_changed_elsewhere(engine):
    policy = policy_from(POLICY)
    cycle(engine, 0, [breach(provider="gmail")], policy)
    cycle(engine, 1, [breach(provider="gmail")], policy)
    with engine.connect() as conn:
        (before,) = alert_store.open_alerts(conn).values()
    with engine.begin() as conn:
        alert_store.acknowledge(conn, before.id, "ana", "looking", at(2))

    with engine.connect() as conn:
        (after,) = alert_store.open_alerts(conn).values()

    assert before.state == AlertState.FIRING
    assert after.state == AlertState.ACKNOWLEDGED
    assert after.acknowledged_by == "ana"
    assert after.last_evaluated_at == at(1)


def test_open_alerts_do_not_share_labels(engine):
    cycle(engine, 0, [breach(provider="gmail")], policy_from(POLICY))
    with engine.connect() as conn:
        (first,) = alert_store.open_alerts(conn).values()
    first.labels["provider"] = "changed by a caller"

    with engine.connect() as conn:
        (second,) = alert_store.open_alerts(conn).values()

    assert second.labels == {"tenant": "default", "provider": "gmail"}
