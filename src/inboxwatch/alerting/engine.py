"""Applying one evaluation's signals to the stored alerts, in the caller's transaction.

For each signal: find the open alert with its fingerprint, run the
lifecycle, then store the alert, its history entries and its outbox rows
together. Because every decision reads the stored state, a restarted
process neither sends a notification twice nor loses an alert's state.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.alerting.lifecycle import SEVERITY_ORDER, Outcome, apply_signal, fingerprint
from inboxwatch.alerting.routing import Route, route_alert
from inboxwatch.model.alerts import Alert, Signal
from inboxwatch.store import alerts as alert_store

log = logging.getLogger(__name__)

# Signal annotation holding the rule's `for` duration in seconds; 0 when absent.
HOLD_FOR_ANNOTATION = "for_seconds"


@dataclasses.dataclass(frozen=True)
class AppliedOutcome:
    """A lifecycle outcome after storing: the saved alert (with its id) and the outbox rows written."""

    outcome: Outcome
    alert: Alert | None
    notifications: int


def apply_signals(
    conn: sa.Connection,
    signals: Iterable[Signal],
    *,
    now: datetime,
    routes: Sequence[Route],
    all_channels: Sequence[str],
) -> list[AppliedOutcome]:
    """Run the lifecycle for every signal and store the results; return what changed.

    Signals that neither open nor change an alert (a clear signal with no
    open alert) are not returned.
    """
    open_by_fingerprint = alert_store.open_alerts(conn)
    applied: list[AppliedOutcome] = []
    decisions: Counter[str] = Counter()

    for signal in signals:
        current = open_by_fingerprint.get(fingerprint(signal.rule, signal.labels))
        hold_for = timedelta(seconds=float(signal.annotations.get(HOLD_FOR_ANNOTATION, 0)))
        route = route_alert(routing_labels(signal, current), routes, all_channels)
        outcome = apply_signal(current, signal, now=now, hold_for=hold_for, route=route)
        decisions[outcome.decision] += 1
        if outcome.alert is None:
            continue
        applied.append(store_outcome(conn, outcome, now))

    log.debug("applied signals at %s: %s", now.isoformat(), dict(decisions) or "none")
    return applied


def routing_labels(signal: Signal, current: Alert | None) -> dict[str, str]:
    """Labels routes match on: the signal's labels, the rule, and the alert's severity after this signal."""
    severity = signal.severity
    if current is not None and SEVERITY_ORDER[current.severity] > SEVERITY_ORDER[severity]:
        severity = current.severity
    return {**signal.labels, "rule": signal.rule, "severity": severity.value}


def store_outcome(conn: sa.Connection, outcome: Outcome, now: datetime) -> AppliedOutcome:
    assert outcome.alert is not None
    alert = alert_store.save_alert(conn, outcome.alert)
    assert alert.id is not None
    for transition in outcome.transitions:
        alert_store.record_transition(conn, alert.id, now, transition.from_state, transition.to_state, transition.note)
    written = 0
    if outcome.notify is not None:
        written = alert_store.enqueue_notifications(conn, alert, outcome.notify.value, now)
        log.info(
            "alert %d %s (%s): %d notifications queued: %s",
            alert.id,
            outcome.decision,
            outcome.notify.value,
            written,
            alert.summary,
        )
    return AppliedOutcome(outcome, alert, written)
