"""The alert lifecycle in simulated time: pending, firing, hysteresis, flapping, acknowledgement, resolve, restarts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.alerting.cycle import Policy
from inboxwatch.alerting.engine import apply_signals
from inboxwatch.alerting.flapping import FlapSettings
from inboxwatch.alerting.lifecycle import Timing, apply_signal, fingerprint
from inboxwatch.alerting.routing import ALL_LABELS, Route
from inboxwatch.model.alerts import AlertState, RouteSnapshot, Severity, Signal
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import outbox

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
LABELS = {"tenant": "default", "provider": "microsoft"}
HOLD_FOR = timedelta(minutes=5)
TIMING = Timing(hold_for=HOLD_FOR)
AT_ONCE = Timing()
CHANNELS = ("ops-email", "chat")
# One group per alert, notified as soon as it fires.
ROOT = Route("default", CHANNELS, group_by=(ALL_LABELS,), group_wait=timedelta(0))
POLICY = Policy(root=ROOT)
DEFAULT_ROUTE = ROOT.snapshot()
PAGER_ROUTE = RouteSnapshot("routes[0]", ("pager",), (ALL_LABELS,), timedelta(0), timedelta(minutes=5), timedelta(hours=1))


def router_to(route: RouteSnapshot):
    return lambda alert: ((route,), None)


ROUTER = router_to(DEFAULT_ROUTE)


def signal(at: datetime, breached: bool = True, severity: Severity = Severity.WARNING, labels=LABELS, hysteresis=False) -> Signal:
    return Signal(
        rule="bounce_rate",
        severity=severity if breached else Severity.INFO,
        labels=dict(labels),
        breached=breached,
        time=at,
        value=0.07 if breached else 0.01,
        threshold=0.05,
        denominator=400,
        summary="Microsoft bounce rate %s" % ("7%" if breached else "1%"),
        annotations={"for_seconds": HOLD_FOR.total_seconds()},
        in_hysteresis=hysteresis,
    )


# Pure state machine


def test_lifecycle_breach_opens_pending_alert():
    outcome = apply_signal(None, signal(START), now=START, timing=TIMING, router=ROUTER)

    assert outcome.decision == "opened"
    assert outcome.alert.state == AlertState.PENDING
    assert outcome.alert.pending_since == START
    assert [(t.from_state, t.to_state) for t in outcome.transitions] == [(None, AlertState.PENDING)]


def test_lifecycle_fires_after_hold_for():
    alert = apply_signal(None, signal(START), now=START, timing=TIMING, router=ROUTER).alert
    still_pending = apply_signal(alert, signal(START + 4 * MINUTE), now=START + 4 * MINUTE, timing=TIMING, router=ROUTER)
    fired = apply_signal(still_pending.alert, signal(START + 5 * MINUTE), now=START + 5 * MINUTE, timing=TIMING, router=ROUTER)

    assert still_pending.decision == "held"
    assert still_pending.alert.state == AlertState.PENDING
    assert fired.decision == "fired"
    assert fired.alert.fired_at == START + 5 * MINUTE
    assert fired.alert.channels == CHANNELS


def test_lifecycle_zero_hold_for_fires_at_once():
    outcome = apply_signal(None, signal(START), now=START, timing=AT_ONCE, router=ROUTER)

    assert outcome.alert.state == AlertState.FIRING
    assert [t.to_state for t in outcome.transitions] == [AlertState.PENDING, AlertState.FIRING]


def test_lifecycle_clear_resets_pending_quietly():
    alert = apply_signal(None, signal(START), now=START, timing=TIMING, router=ROUTER).alert
    outcome = apply_signal(alert, signal(START + MINUTE, breached=False), now=START + MINUTE, timing=TIMING, router=ROUTER)

    assert outcome.decision == "cleared"
    assert outcome.alert.state == AlertState.RESOLVED


def test_lifecycle_clear_without_alert_does_nothing():
    outcome = apply_signal(None, signal(START, breached=False), now=START, timing=TIMING, router=ROUTER)

    assert outcome.alert is None
    assert outcome.decision == "ignored"


def test_lifecycle_raises_to_critical():
    alert = apply_signal(None, signal(START), now=START, timing=AT_ONCE, router=ROUTER).alert
    outcome = apply_signal(
        alert, signal(START + MINUTE, severity=Severity.CRITICAL), now=START + MINUTE, timing=TIMING, router=router_to(PAGER_ROUTE)
    )

    assert outcome.decision == "raised"
    assert outcome.alert.severity == Severity.CRITICAL
    assert outcome.alert.channels == ("pager",)
    assert outcome.alert.id == alert.id


def test_lifecycle_keeps_highest_severity():
    alert = apply_signal(None, signal(START, severity=Severity.CRITICAL), now=START, timing=AT_ONCE, router=ROUTER).alert
    outcome = apply_signal(alert, signal(START + MINUTE), now=START + MINUTE, timing=TIMING, router=ROUTER)

    assert outcome.decision == "updated"
    assert outcome.alert.severity == Severity.CRITICAL


def test_fingerprint_ignores_label_order_and_severity():
    first = fingerprint("bounce_rate", {"tenant": "default", "provider": "gmail"})
    second = fingerprint("bounce_rate", {"provider": "gmail", "tenant": "default", "severity": "critical"})

    assert first == second
    assert first != fingerprint("bounce_rate", {"tenant": "default", "provider": "yahoo"})
    assert first != fingerprint("delivery_rate", {"tenant": "default", "provider": "gmail"})


# Stored lifecycle


def run_cycle(engine: sa.Engine, at: datetime, breached: bool = True, severity: Severity = Severity.WARNING):
    with engine.begin() as conn:
        return apply_signals(conn, [signal(at, breached, severity)], now=at, policy=POLICY)


def run_empty_cycle(engine: sa.Engine, at: datetime):
    with engine.begin() as conn:
        return apply_signals(conn, [], now=at, policy=POLICY)


def outbox_reasons(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.reason, outbox.c.channel).order_by(outbox.c.id)).all()
    return [tuple(row) for row in rows]


def only_alert(engine: sa.Engine):
    with engine.connect() as conn:
        alerts = alert_store.list_alerts(conn, states=list(AlertState))
    assert len(alerts) == 1
    return alerts[0]


def test_stored_alert_fires_then_resolves(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    run_cycle(engine, START + 6 * MINUTE, breached=False)
    # The resolve waits for group_interval (5 minutes) after the firing notification.
    waiting = outbox_reasons(engine)
    run_empty_cycle(engine, START + 10 * MINUTE)

    alert = only_alert(engine)
    assert waiting == [("firing", "ops-email"), ("firing", "chat")]
    assert alert.state == AlertState.RESOLVED
    assert alert.fired_at == START + 5 * MINUTE
    assert alert.resolved_at == START + 6 * MINUTE
    assert outbox_reasons(engine) == [
        ("firing", "ops-email"),
        ("firing", "chat"),
        ("resolved", "ops-email"),
        ("resolved", "chat"),
    ]
    with engine.connect() as conn:
        history = alert_store.alert_history(conn, alert.id)
    assert [entry["to_state"] for entry in history] == ["pending", "firing", "resolved"]


def test_stored_outbox_payload_and_keys(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)

    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox)).mappings().all()
    assert len({row["idempotency_key"] for row in rows}) == 2
    payload = rows[0]["payload"]
    assert payload["reason"] == "firing"
    assert payload["labels"] == LABELS
    assert payload["state"] == "firing"
    assert payload["value"] == pytest.approx(0.07)
    assert payload["threshold"] == pytest.approx(0.05)
    assert payload["fired_at"] == (START + 5 * MINUTE).isoformat()
    assert rows[0]["status"] == "pending"


def test_stored_repeat_after_interval(engine):
    # Fires at minute 5; the default repeat interval is 4 hours.
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    run_cycle(engine, START + 5 * MINUTE + timedelta(hours=3, minutes=59))
    run_cycle(engine, START + 5 * MINUTE + timedelta(hours=4))
    run_cycle(engine, START + 5 * MINUTE + timedelta(hours=4, minutes=1))

    reasons = [reason for reason, _channel in outbox_reasons(engine)]
    assert reasons == ["firing", "firing", "repeat", "repeat"]


def test_stored_ack_stops_repeats(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    alert = only_alert(engine)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", "moving traffic to the other IP", START + 10 * MINUTE)
    run_cycle(engine, START + timedelta(hours=9))

    acknowledged = only_alert(engine)
    assert acknowledged.state == AlertState.ACKNOWLEDGED
    assert acknowledged.acknowledged_by == "ana"
    reasons = [reason for reason, _channel in outbox_reasons(engine)]
    assert reasons == ["firing", "firing", "acknowledged", "acknowledged"]


def test_stored_acknowledged_alert_resolves(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, only_alert(engine).id, "ana", None, START + 7 * MINUTE)
    run_cycle(engine, START + 8 * MINUTE, breached=False)
    run_empty_cycle(engine, START + 10 * MINUTE)

    assert only_alert(engine).state == AlertState.RESOLVED
    assert [reason for reason, _channel in outbox_reasons(engine)][-2:] == ["resolved", "resolved"]


def test_stored_ack_rejects_resolved_alert(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    run_cycle(engine, START + 6 * MINUTE, breached=False)

    with engine.begin() as conn, pytest.raises(alert_store.AlertStateError, match="only a firing alert"):
        alert_store.acknowledge(conn, only_alert(engine).id, "ana", None, START + 7 * MINUTE)


def test_stored_ack_unknown_id(engine):
    with engine.begin() as conn, pytest.raises(alert_store.AlertNotFoundError, match="alert 999 not found"):
        alert_store.acknowledge(conn, 999, "ana", None, START)


def test_stored_manual_resolve_then_new_incident(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    with engine.begin() as conn:
        alert_store.resolve_manually(conn, only_alert(engine).id, "ana", "fixed the SPF record", START + 6 * MINUTE)
    run_cycle(engine, START + 7 * MINUTE)

    with engine.connect() as conn:
        resolved = alert_store.list_alerts(conn, states=[AlertState.RESOLVED])
        open_alerts = alert_store.list_alerts(conn)
        history = alert_store.alert_history(conn, resolved[0].id)
    assert len(resolved) == 1
    assert [alert.state for alert in open_alerts] == [AlertState.PENDING]
    assert history[-1]["actor"] == "ana"
    assert history[-1]["note"] == "fixed the SPF record"


def test_stored_severity_raise_notifies_again(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    run_cycle(engine, START + 6 * MINUTE, severity=Severity.CRITICAL)
    # The raise is sent once group_interval has passed since the first notification.
    run_empty_cycle(engine, START + 10 * MINUTE)

    alert = only_alert(engine)
    assert alert.severity == Severity.CRITICAL
    assert [reason for reason, _channel in outbox_reasons(engine)] == ["firing"] * 4


def test_restart_mid_incident_does_not_renotify(store_url):
    engine = open_engine(store_url)
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    engine.dispose()

    reopened = open_engine(store_url)
    run_cycle(reopened, START + 7 * MINUTE)
    run_cycle(reopened, START + 8 * MINUTE, breached=False)
    run_empty_cycle(reopened, START + 10 * MINUTE)
    reasons = [reason for reason, _channel in outbox_reasons(reopened)]
    alert = only_alert(reopened)
    reopened.dispose()

    assert reasons == ["firing", "firing", "resolved", "resolved"]
    assert alert.state == AlertState.RESOLVED


def test_lifecycle_ignores_signal_older_than_alert():
    alert = apply_signal(None, signal(START + 10 * MINUTE), now=START + 10 * MINUTE, timing=TIMING, router=ROUTER).alert
    outcome = apply_signal(alert, signal(START, breached=False), now=START, timing=TIMING, router=ROUTER)

    assert outcome.alert is None
    assert outcome.decision == "stale"
