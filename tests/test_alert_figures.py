"""A firing alert's figures in simulated time: clear readings do not replace what fired, and the peak is kept."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from alerting_support import START, all_alerts, at, cycle, outbox_rows, policy_from
from inboxwatch.cli.main import cli
from inboxwatch.model.alerts import Severity, Signal
from inboxwatch.store import alerts as alert_store
from inboxwatch.store import notification_log as log_store

ROUTE = {"route": {"channels": ["ops"], "group_by": ["..."], "group_wait": "0s", "group_interval": "1m", "repeat_interval": "2m"}}


def reading(numerator: int, denominator: int = 20, *, keep_firing_minutes: int = 3, exit_level: bool = False) -> Signal:
    """A Microsoft bounce-rate reading against a 3% warning and 8% critical level."""
    value = numerator / denominator
    if value > 0.08:
        severity = Severity.CRITICAL
    elif value > 0.03:
        severity = Severity.WARNING
    else:
        severity = Severity.INFO
    threshold = 0.08 if severity == Severity.CRITICAL else 0.03
    level = " above 8% critical" if severity == Severity.CRITICAL else " above 3% warning"
    if severity == Severity.INFO:
        level = ", not above the 3% warning level"
    return Signal(
        rule="bounce_rate",
        severity=severity,
        labels={"tenant": "default", "provider": "microsoft"},
        breached=severity != Severity.INFO,
        time=START,
        value=value,
        threshold=threshold,
        denominator=denominator,
        summary="Microsoft bounce rate %g%% (%d/%d) over 5m%s" % (value * 100, numerator, denominator, level),
        annotations={"direction": "above", "numerator": numerator, "keep_firing_for_seconds": keep_firing_minutes * 60},
        in_hysteresis=exit_level and severity == Severity.INFO,
    )


# Each step: minute, reading (None: no signal), and the alert's state,
# summary and peak afterwards.
TIMELINE = [
    (0, reading(1), "firing", "Microsoft bounce rate 5% (1/20) over 5m above 3% warning", 0.05),
    (1, reading(2), "firing", "Microsoft bounce rate 10% (2/20) over 5m above 8% critical", 0.10),
    # Still above the warning level, but lower than the peak.
    (2, reading(1), "firing", "Microsoft bounce rate 5% (1/20) over 5m above 3% warning", 0.10),
    # Clear during keep_firing_for: the alert keeps the figures of its last breach.
    (3, reading(0), "firing", "Microsoft bounce rate 5% (1/20) over 5m above 3% warning", 0.10),
    (5, None, "firing", "Microsoft bounce rate 5% (1/20) over 5m above 3% warning", 0.10),
    # Clear for keep_firing_for: it resolves with the clear reading.
    (6, reading(0), "resolved", "Microsoft bounce rate 0% (0/20) over 5m, not above the 3% warning level", 0.10),
]


def test_figures_timeline(engine):
    policy = policy_from(ROUTE)
    seen = []
    for minute, signal, _state, _summary, _peak in TIMELINE:
        cycle(engine, minute, [signal] if signal else [], policy)
        (alert,) = all_alerts(engine)
        seen.append((minute, signal, alert.state.value, alert.summary, alert.annotations.get("peak")))

    assert seen == TIMELINE


def test_figures_repeat_shows_breach(engine):
    policy = policy_from(ROUTE)
    for minute, signal, *_expected in TIMELINE[:5]:
        cycle(engine, minute, [signal] if signal else [], policy)

    repeats = [row for row in outbox_rows(engine) if row["reason"] == "repeat"]
    assert repeats
    assert all("not above" not in row["payload"]["summary"] for row in repeats)


def test_figures_hysteresis_keeps_breach(engine):
    policy = policy_from(ROUTE)
    cycle(engine, 0, [reading(2)], policy)
    # Under the levels but inside the exit band: the alert stays open.
    cycle(engine, 1, [reading(0, exit_level=True)], policy)

    (alert,) = all_alerts(engine)
    assert alert.state.value == "firing"
    assert alert.summary == "Microsoft bounce rate 10% (2/20) over 5m above 8% critical"
    assert alert.value == 0.10


@pytest.fixture
def runner_args(store_url):
    return ["--store", store_url]


def test_show_formats_rates(engine, runner_args):
    cycle(engine, 0, [reading(1, 22)], policy_from(ROUTE))
    (alert,) = all_alerts(engine)

    output = CliRunner().invoke(cli, ["alerts", "show", str(alert.id), *runner_args], catch_exceptions=False).output

    assert "value:           4.55% (1/22)" in output
    assert "threshold:       3%" in output
    assert "peak:            4.55%" in output


def test_list_shows_cleared_pending_alert(engine, runner_args):
    policy = policy_from(ROUTE)
    # A `for` of 5 minutes keeps the first breach pending, and the clear reading drops it.
    held = dataclasses.replace(reading(1), annotations={"direction": "above", "for_seconds": 300})
    cycle(engine, 0, [held], policy)
    cycle(engine, 1, [reading(0)], policy)
    # The breach comes back and fires at once: a new alert next to the cleared one.
    cycle(engine, 2, [reading(2)], policy)

    output = CliRunner().invoke(cli, ["alerts", "list", "--state", "all", *runner_args], catch_exceptions=False).output
    states = [line.split()[1] for line in output.splitlines()]

    assert sorted(states) == ["cleared", "firing"]


def test_history_keeps_order_of_changes(engine, runner_args):
    policy = policy_from(ROUTE)
    cycle(engine, 0, [reading(2)], policy)
    (alert,) = all_alerts(engine)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", None, at(108))
    # A catch-up replays 10:30 after the acknowledgement at 11:48 and resolves the alert.
    cycle(engine, 30, [reading(0, keep_firing_minutes=0)], policy)
    with engine.begin() as conn:
        log_store.record_decisions(
            conn,
            [{"alert_id": alert.id, "time": at(31), "action": "suppress", "reason": "suppressed: outside active time windows",
              "group_key": None, "route": "default", "channels": []}],
        )

    output = CliRunner().invoke(cli, ["alerts", "history", str(alert.id), *runner_args], catch_exceptions=False).output
    changes = [line.split("  ")[1] for line in output.splitlines() if "->" in line]

    assert changes == ["- -> pending", "pending -> firing", "firing -> acknowledged by ana", "acknowledged -> resolved"]
    assert "suppress: outside active time windows" in output
    assert "suppressed: outside" not in output


def test_cli_alert_id_out_of_range_rejected(tmp_path):
    from click.testing import CliRunner

    from inboxwatch.cli.main import cli

    store = "sqlite:///%s" % (tmp_path / "store.db")
    for arguments in (["alerts", "show"], ["alerts", "ack"], ["silences", "expire"]):
        result = CliRunner().invoke(cli, arguments + ["--store", store, "99999999999999999999"])
        assert result.exit_code == 2, result.output
        assert "not in the range 1<=x<=9223372036854775807" in result.output
