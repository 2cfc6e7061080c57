"""The alert state machine: what one signal does to the alert with its fingerprint.

States: pending (breached, not yet for the rule's `for` duration), firing,
acknowledged and resolved. A breach opens a pending alert, which fires once
the breach has held for `for`. A clear signal resolves any open alert. A
firing alert is notified again after its repeat interval, an acknowledged one
is not. A breach at critical level raises a warning alert to critical and
notifies again. Pure: the caller supplies the stored alert, the signal and
the time, and stores what `apply_signal` returns.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta

from inboxwatch.alerting.routing import DEFAULT_REPEAT_INTERVAL, RouteMatch
from inboxwatch.model.alerts import Alert, AlertState, Severity, Signal

# Labels that describe a signal rather than identify what it is about; they
# stay out of the fingerprint so one incident keeps one alert.
NON_IDENTIFYING_LABELS = frozenset({"severity"})

SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Reason(str, enum.Enum):
    """The cause of a notification, stored in `outbox.reason`."""

    FIRING = "firing"
    RESOLVED = "resolved"
    REPEAT = "repeat"
    ACKNOWLEDGED = "acknowledged"


@dataclasses.dataclass(frozen=True)
class Transition:
    """One entry for `alert_history`: a state change, or a note on an unchanged state (escalation)."""

    from_state: AlertState | None
    to_state: AlertState
    note: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The result of one signal: the alert to store (None when there is nothing), history entries, a notification.

    `decision` is a short word for logs and counters: opened, held, fired,
    escalated, repeated, resolved, cleared, updated, ignored or stale.
    """

    alert: Alert | None
    decision: str
    transitions: tuple[Transition, ...] = ()
    notify: Reason | None = None


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """Return the sha256 hex of the rule and its identifying labels, sorted by name."""
    parts = [rule]
    for name in sorted(labels):
        if name not in NON_IDENTIFYING_LABELS:
            parts.append("%s=%s" % (name, labels[name]))
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def apply_signal(
    alert: Alert | None,
    signal: Signal,
    *,
    now: datetime,
    hold_for: timedelta,
    route: RouteMatch,
) -> Outcome:
    """Apply one signal to the open alert with its fingerprint (None when there is none).

    `now` is the evaluation time, in event time when history is replayed.
    `hold_for` is the rule's `for` duration. `route` is where the alert would
    be sent with the signal's labels and severity; it is adopted when the
    alert fires or escalates.
    """
    if alert is not None and alert.state == AlertState.RESOLVED:
        raise ValueError("apply_signal got resolved alert %s: pass only open alerts" % alert.id)
    if alert is not None and now < alert.last_evaluated_at:
        # A replay of times before the alert's last evaluation must not
        # move an ongoing incident back in time.
        return Outcome(None, "stale")

    if not signal.breached:
        return clear(alert, signal, now)
    if alert is None:
        return open_alert(signal, now, hold_for, route)
    if alert.state == AlertState.PENDING:
        return hold_pending(alert, signal, now, hold_for, route)
    return continue_firing(alert, signal, now, route)


def open_alert(signal: Signal, now: datetime, hold_for: timedelta, route: RouteMatch) -> Outcome:
    alert = Alert(
        id=None,
        fingerprint=fingerprint(signal.rule, signal.labels),
        rule=signal.rule,
        tenant=signal.labels.get("tenant", ""),
        labels=dict(signal.labels),
        severity=signal.severity,
        state=AlertState.PENDING,
        pending_since=now,
        last_evaluated_at=now,
    )
    alert = with_signal(alert, signal, now)
    opened = Transition(None, AlertState.PENDING, "breached: %s" % signal.summary)
    if hold_for <= timedelta(0):
        return fire(alert, now, route, (opened,))
    return Outcome(alert, "opened", (opened,))


def hold_pending(alert: Alert, signal: Signal, now: datetime, hold_for: timedelta, route: RouteMatch) -> Outcome:
    alert = with_signal(alert, signal, now)
    if SEVERITY_ORDER[signal.severity] > SEVERITY_ORDER[alert.severity]:
        alert = alert.replace(severity=signal.severity)
    if now - alert.pending_since < hold_for:
        return Outcome(alert, "held")
    return fire(alert, now, route, ())


def fire(alert: Alert, now: datetime, route: RouteMatch, earlier: tuple[Transition, ...]) -> Outcome:
    alert = alert.replace(state=AlertState.FIRING, fired_at=now, last_notified_at=now, **route_fields(route))
    breach_duration = now - alert.pending_since
    note = "fired after the breach lasted %ds; routes: %s" % (breach_duration.total_seconds(), ", ".join(route.routes))
    firing = Transition(AlertState.PENDING, AlertState.FIRING, note)
    return Outcome(alert, "fired", earlier + (firing,), Reason.FIRING)


def continue_firing(alert: Alert, signal: Signal, now: datetime, route: RouteMatch) -> Outcome:
    """Handle a breach on a firing or acknowledged alert: escalate, repeat, or only update."""
    alert = with_signal(alert, signal, now)

    if SEVERITY_ORDER[signal.severity] > SEVERITY_ORDER[alert.severity]:
        note = "severity raised from %s to %s: %s" % (alert.severity.value, signal.severity.value, signal.summary)
        alert = alert.replace(severity=signal.severity, last_notified_at=now, **route_fields(route))
        return Outcome(alert, "escalated", (Transition(alert.state, alert.state, note),), Reason.FIRING)

    if alert.state == AlertState.FIRING and repeat_due(alert, now):
        return Outcome(alert.replace(last_notified_at=now), "repeated", (), Reason.REPEAT)
    return Outcome(alert, "updated")


def repeat_due(alert: Alert, now: datetime) -> bool:
    interval = alert.repeat_interval or DEFAULT_REPEAT_INTERVAL
    last = alert.last_notified_at or alert.fired_at or alert.pending_since
    return now - last >= interval


def clear(alert: Alert | None, signal: Signal, now: datetime) -> Outcome:
    """Resolve an open alert on a clear signal; a pending one is dropped without a notification."""
    if alert is None:
        return Outcome(None, "ignored")
    previous = alert.state
    alert = with_signal(alert, signal, now).replace(state=AlertState.RESOLVED, resolved_at=now)
    if previous == AlertState.PENDING:
        transition = Transition(previous, AlertState.RESOLVED, "cleared before firing: %s" % signal.summary)
        return Outcome(alert, "cleared", (transition,))
    transition = Transition(previous, AlertState.RESOLVED, "clear: %s" % signal.summary)
    return Outcome(alert.replace(last_notified_at=now), "resolved", (transition,), Reason.RESOLVED)


def with_signal(alert: Alert, signal: Signal, now: datetime) -> Alert:
    """Copy the signal's latest figures onto the alert."""
    return alert.replace(
        value=signal.value,
        threshold=signal.threshold,
        denominator=signal.denominator,
        summary=signal.summary,
        annotations={**alert.annotations, **signal.annotations},
        last_evaluated_at=now,
    )


def route_fields(route: RouteMatch) -> dict:
    return {"channels": route.channels, "repeat_interval": route.repeat_interval, "routes": route.routes}
