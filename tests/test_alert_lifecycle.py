"""The alert lifecycle in simulated time: pending, firing, repeats, acknowledgement, resolve, restarts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.alerting.engine import apply_signals
from inboxwatch.alerting.lifecycle import Reason, apply_signal, fingerprint
from inboxwatch.alerting.routing import Route, RouteMatch, route_alert
from inboxwatch.model.alerts import AlertState, Severity, Signal
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import outbox

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
LABELS = {"tenant": "default", "provider": "microsoft"}
HOLD_FOR = timedelta(minutes=5)
CHANNELS = ("ops-email", "chat")
ROUTE = RouteMatch(CHANNELS, timedelta(hours=4), ("default",))


def signal(at: datetime, breached: bool = True, severity: Severity = Severity.WARNING, labels=LABELS) -> Signal:
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
    )


# Pure state machine


def test_lifecycle_breach_opens_pending_alert():
    outcome = apply_signal(None, signal(START), now=START, hold_for=HOLD_FOR, route=ROUTE)

    assert outcome.decision == "opened"
    assert outcome.alert.state == AlertState.PENDING
    assert outcome.alert.pending_since == START
    assert outcome.notify is None
    assert [(t.from_state, t.to_state) for t in outcome.transitions] == [(None, AlertState.PENDING)]


def test_lifecycle_fires_after_hold_for():
    alert = apply_signal(None, signal(START), now=START, hold_for=HOLD_FOR, route=ROUTE).alert
    still_pending = apply_signal(alert, signal(START + 4 * MINUTE), now=START + 4 * MINUTE, hold_for=HOLD_FOR, route=ROUTE)
    fired = apply_signal(still_pending.alert, signal(START + 5 * MINUTE), now=START + 5 * MINUTE, hold_for=HOLD_FOR, route=ROUTE)

    assert still_pending.decision == "held"
    assert still_pending.alert.state == AlertState.PENDING
    assert fired.decision == "fired"
    assert fired.notify == Reason.FIRING
    assert fired.alert.fired_at == START + 5 * MINUTE
    assert fired.alert.channels == CHANNELS


def test_lifecycle_zero_hold_for_fires_at_once():
    outcome = apply_signal(None, signal(START), now=START, hold_for=timedelta(0), route=ROUTE)

    assert outcome.alert.state == AlertState.FIRING
    assert outcome.notify == Reason.FIRING
    assert [t.to_state for t in outcome.transitions] == [AlertState.PENDING, AlertState.FIRING]


def test_lifecycle_clear_resets_pending_quietly():
    alert = apply_signal(None, signal(START), now=START, hold_for=HOLD_FOR, route=ROUTE).alert
    outcome = apply_signal(alert, signal(START + MINUTE, breached=False), now=START + MINUTE, hold_for=HOLD_FOR, route=ROUTE)

    assert outcome.decision == "cleared"
    assert outcome.alert.state == AlertState.RESOLVED
    assert outcome.notify is None


def test_lifecycle_clear_without_alert_does_nothing():
    outcome = apply_signal(None, signal(START, breached=False), now=START, hold_for=HOLD_FOR, route=ROUTE)

    assert outcome.alert is None
    assert outcome.decision == "ignored"


def test_lifecycle_escalates_to_critical():
    alert = apply_signal(None, signal(START), now=START, hold_for=timedelta(0), route=ROUTE).alert
    pager = RouteMatch(("pager",), timedelta(hours=1), ("routes[0]",))
    outcome = apply_signal(
        alert, signal(START + MINUTE, severity=Severity.CRITICAL), now=START + MINUTE, hold_for=HOLD_FOR, route=pager
    )

    assert outcome.decision == "escalated"
    assert outcome.notify == Reason.FIRING
    assert outcome.alert.severity == Severity.CRITICAL
    assert outcome.alert.channels == ("pager",)
    assert outcome.alert.id == alert.id


def test_lifecycle_keeps_highest_severity():
    alert = apply_signal(None, signal(START, severity=Severity.CRITICAL), now=START, hold_for=timedelta(0), route=ROUTE).alert
    outcome = apply_signal(alert, signal(START + MINUTE), now=START + MINUTE, hold_for=HOLD_FOR, route=ROUTE)

    assert outcome.decision == "updated"
    assert outcome.alert.severity == Severity.CRITICAL


def test_fingerprint_ignores_label_order_and_severity():
    first = fingerprint("bounce_rate", {"tenant": "default", "provider": "gmail"})
    second = fingerprint("bounce_rate", {"provider": "gmail", "tenant": "default", "severity": "critical"})

    assert first == second
    assert first != fingerprint("bounce_rate", {"tenant": "default", "provider": "yahoo"})
    assert first != fingerprint("delivery_rate", {"tenant": "default", "provider": "gmail"})


# Routing


ROUTES = [
    Route("routes[0]", ("pager",), match={"severity": "critical"}, repeat_interval=timedelta(hours=1), continue_=True),
    Route("routes[1]", ("chat",), match_re={"provider": re.compile("gmail|microsoft")}),
    Route("routes[2]", ("ops-email",)),
]


@pytest.mark.parametrize(
    ("labels", "channels", "interval", "names"),
    [
        # Critical goes to the pager and, because of `continue`, on to the next match.
        ({"severity": "critical", "provider": "gmail"}, ("pager", "chat"), timedelta(hours=1), ("routes[0]", "routes[1]")),
        ({"severity": "warning", "provider": "microsoft"}, ("chat",), timedelta(hours=4), ("routes[1]",)),
        # The regex must match the whole value.
        ({"severity": "warning", "provider": "gmailx"}, ("ops-email",), timedelta(hours=4), ("routes[2]",)),
    ],
    ids=["critical-continues", "regex-match", "regex-whole-value"],
)
def test_routing_first_match_wins(labels, channels, interval, names):
    match = route_alert(labels, ROUTES, ["pager", "chat", "ops-email"])

    assert match.channels == channels
    assert match.repeat_interval == interval
    assert match.routes == names


def test_routing_fallback_is_all_channels():
    match = route_alert({"severity": "warning"}, ROUTES[:1], ["pager", "chat"])

    assert match.channels == ("pager", "chat")
    assert match.routes == ("default",)


# Stored lifecycle


def run_cycle(engine: sa.Engine, at: datetime, breached: bool = True, severity: Severity = Severity.WARNING):
    with engine.begin() as conn:
        return apply_signals(conn, [signal(at, breached, severity)], now=at, routes=[], all_channels=list(CHANNELS))


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

    alert = only_alert(engine)
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


def test_stored_escalation_notifies_again(engine):
    for minute in range(6):
        run_cycle(engine, START + minute * MINUTE)
    run_cycle(engine, START + 6 * MINUTE, severity=Severity.CRITICAL)

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
    reasons = [reason for reason, _channel in outbox_reasons(reopened)]
    alert = only_alert(reopened)
    reopened.dispose()

    assert reasons == ["firing", "firing", "resolved", "resolved"]
    assert alert.state == AlertState.RESOLVED


def test_lifecycle_ignores_signal_older_than_alert():
    alert = apply_signal(None, signal(START + 10 * MINUTE), now=START + 10 * MINUTE, hold_for=HOLD_FOR, route=ROUTE).alert
    outcome = apply_signal(alert, signal(START, breached=False), now=START, hold_for=HOLD_FOR, route=ROUTE)

    assert outcome.alert is None
    assert outcome.decision == "stale"
