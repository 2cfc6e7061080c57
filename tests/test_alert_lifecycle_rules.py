"""Rule timing in the alert lifecycle, in simulated time: keep_firing_for, exit levels and flap detection."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from alerting_support import all_alerts, breach, clear, cycle, policy_from
from inboxwatch.alerting.flapping import FlapSettings
from inboxwatch.alerting.lifecycle import Timing, apply_signal
from inboxwatch.alerting.routing import ALL_LABELS, Route
from inboxwatch.analysis.rates import Rate
from inboxwatch.analysis.rules import Levels, ThresholdRule, judge
from inboxwatch.model.alerts import AlertState, Severity, Signal
from inboxwatch.store import alerts as alert_store

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
LABELS = {"tenant": "default", "provider": "microsoft"}
ROUTE = Route("default", ("ops",), group_by=(ALL_LABELS,)).snapshot()
NO_FLAP = FlapSettings(max_changes=0)


def router(alert):
    return (ROUTE,), None


def signal(minute: int, breached: bool, hysteresis: bool = False) -> Signal:
    return Signal(
        rule="bounce_rate",
        severity=Severity.WARNING if breached else Severity.INFO,
        labels=LABELS,
        breached=breached,
        time=START + minute * MINUTE,
        in_hysteresis=hysteresis,
    )


def replay(pattern: str, timing: Timing, flap: FlapSettings = NO_FLAP, past_changes=()):
    """Apply one signal a minute: "B" breached, "C" clear, "H" clear inside the hysteresis band; return the decisions."""
    alert = None
    decisions = []
    for minute, code in enumerate(pattern):
        outcome = apply_signal(
            alert,
            signal(minute, code == "B", code == "H"),
            now=START + minute * MINUTE,
            timing=timing,
            router=router,
            flap=flap,
            past_changes=past_changes,
        )
        decisions.append(outcome.decision)
        alert = outcome.alert if outcome.alert is not None and outcome.alert.state != AlertState.RESOLVED else None
        last = outcome.alert
    return decisions, last


@pytest.mark.parametrize(
    ("pattern", "keep_firing_for", "expected"),
    [
        # Without keep_firing_for the first clear resolves.
        ("BC", timedelta(0), ["fired", "resolved"]),
        # Kept firing for 2 minutes of clear signals, resolved on the third.
        ("BCCC", 2 * MINUTE, ["fired", "kept", "kept", "resolved"]),
        # A breach during the hold restarts it.
        ("BCBCC", 2 * MINUTE, ["fired", "kept", "kept", "kept", "kept"]),
    ],
    ids=["no-hold", "holds-then-resolves", "breach-restarts-hold"],
)
def test_keep_firing_for_holds_resolve(pattern, keep_firing_for, expected):
    decisions, _alert = replay(pattern, Timing(keep_firing_for=keep_firing_for))

    assert decisions == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # Inside the band an open alert stays open.
        ("BHHC", ["fired", "updated", "updated", "resolved"]),
        # Inside the band no alert is opened.
        ("HH", ["ignored", "ignored"]),
    ],
    ids=["open-alert-held", "no-alert-opened"],
)
def test_hysteresis_band_keeps_alert_open(pattern, expected):
    decisions, _alert = replay(pattern, Timing())

    assert decisions == expected


def test_flapping_alert_held_firing():
    # Two earlier incidents in the last hour: four changes. Firing is the
    # fifth, so resolving would be the sixth, over a limit of five.
    flap = FlapSettings(max_changes=5, window=timedelta(hours=1))
    past = tuple(START - minutes * MINUTE for minutes in (40, 30, 20, 10))

    decisions, alert = replay("BCBC", Timing(), flap, past)

    assert decisions == ["fired", "flapping", "kept", "flapping"]
    assert alert.state == AlertState.FIRING
    assert alert.flapping


def test_flapping_alert_resolves_once_changes_age_out():
    flap = FlapSettings(max_changes=3, window=timedelta(minutes=30))
    past = (START - 20 * MINUTE, START - 15 * MINUTE)
    fired = apply_signal(None, signal(0, True), now=START, timing=Timing(), router=router, flap=flap, past_changes=past).alert
    held = apply_signal(fired, signal(1, False), now=START + MINUTE, timing=Timing(), router=router, flap=flap).alert
    # At 10:20 the changes at 09:40 and 09:45 have left the 30-minute window.
    later = START + 20 * MINUTE
    outcome = apply_signal(held, signal(20, False), now=later, timing=Timing(), router=router, flap=flap)

    assert held.flapping
    assert outcome.decision == "resolved"
    assert outcome.alert.flapping is False
    assert "no longer flapping" in outcome.transitions[0].note


RULE = ThresholdRule(
    name="bounce_rate", metric="bounce_rate", direction="above", levels=Levels(0.05, 0.10), min_volume=1, exit_level=0.03
)


@pytest.mark.parametrize(
    ("bounced", "breached", "in_hysteresis"),
    [
        # 6% crosses the 5% enter level.
        (6, True, False),
        # 4% is under the enter level but not under the 3% exit level.
        (4, False, True),
        # 3% equals the exit level, which does not cross it.
        (3, False, True),
        # 2% is past the exit level: a plain clear.
        (2, False, False),
    ],
    ids=["breach", "in-band", "at-exit-level", "clear"],
)
def test_judge_exit_level(bounced, breached, in_hysteresis):
    result = judge(RULE, LABELS, Rate("bounce_rate", bounced, 100), START)

    assert result.breached is breached
    assert result.in_hysteresis is in_hysteresis


def test_flapping_detected_across_stored_incidents(engine):
    policy = policy_from(
        {
            "route": {"channels": ["ops"], "group_by": ["..."], "group_wait": "0s", "group_interval": "1m"},
            "alerting": {"flap_max_changes": 4, "flap_window": "1h"},
        }
    )
    # Two incidents fire and resolve (four changes); the third fires (a fifth) and is held when it clears.
    for minute, signals in enumerate([breach(), clear(), breach(), clear(), breach(), clear(), clear()]):
        cycle(engine, minute, [signals], policy)

    alerts = all_alerts(engine)
    assert [alert.state for alert in alerts] == [AlertState.RESOLVED, AlertState.RESOLVED, AlertState.FIRING]
    assert alerts[-1].flapping
    with engine.connect() as conn:
        notes = [entry["note"] for entry in alert_store.alert_history(conn, alerts[-1].id)]
    assert any(note.startswith("flapping: resolving now would be state change 6") for note in notes)
