"""The alert state machine: what one signal does to the alert with its fingerprint.

States: pending (breached, not yet for the rule's `for` duration), firing,
acknowledged and resolved. A breach opens a pending alert, which fires once
the breach has held for `for`; one clear evaluation before that drops it. A
firing alert resolves after its condition has been clear for the rule's
`keep_firing_for` (at once by default), unless resolving would make it
flap (see `alerting.flapping`); then it is held firing and marked flapping.
A clear signal inside the rule's hysteresis band (`Signal.in_hysteresis`)
counts as a breach for an open alert. A breach at a higher severity raises
the alert's severity and routes it again.

This module decides states only. Whether and when anyone is told is
decided per notification group in `alerting.grouping`. Pure: the caller
supplies the stored alert, the signal, the time and the rule's timing, and
stores what `apply_signal` returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from inboxwatch.alerting.flapping import FlapSettings, recent, would_flap
from inboxwatch.model.alerts import Alert, AlertState, EscalationSnapshot, RouteSnapshot, Severity, Signal

# Labels that describe a signal rather than identify what it is about; they
# stay out of the fingerprint so one incident keeps one alert.
NON_IDENTIFYING_LABELS = frozenset({"severity"})

SEVERITY_ORDER = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}

# Annotations of threshold signals: whether a higher ("above") or lower
# ("below") value is worse, and the worst value an alert had while firing.
DIRECTION_ANNOTATION = "direction"
PEAK_ANNOTATION = "peak"

# Returns the routes and the escalation policy for an alert about to fire or
# whose severity rose; called only then, so routing costs nothing for alerts
# that merely stay firing.
Router = Callable[[Alert], tuple[tuple[RouteSnapshot, ...], EscalationSnapshot | None]]


@dataclasses.dataclass(frozen=True)
class Timing:
    """A rule's timing: `hold_for` is its `for` duration, `keep_firing_for` the hysteresis after it clears."""

    hold_for: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)


@dataclasses.dataclass(frozen=True)
class Transition:
    """One entry for `alert_history`: a state change, or a note on an unchanged state."""

    from_state: AlertState | None
    to_state: AlertState
    note: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The result of one signal: the alert to store (None when there is nothing) and its history entries.

    `decision` is a short word for logs and counters: opened, held, fired,
    raised, kept, flapping, updated, resolved, cleared, ignored or stale.
    """

    alert: Alert | None
    decision: str
    transitions: tuple[Transition, ...] = ()


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
    timing: Timing,
    router: Router,
    flap: FlapSettings = FlapSettings(),
    past_changes: tuple[datetime, ...] = (),
) -> Outcome:
    """Apply one signal to the open alert with its fingerprint (None when there is none).

    `now` is the evaluation time, in event time when history is replayed.
    `past_changes` are the fire and resolve times of the fingerprint's
    earlier alerts within the flap window, for flap detection.
    """
    if alert is not None and alert.state == AlertState.RESOLVED:
        raise ValueError("apply_signal got resolved alert %s: pass only open alerts" % alert.id)
    if alert is not None and now < alert.last_evaluated_at:
        # A replay of times before the alert's last evaluation must not
        # move an ongoing incident back in time.
        return Outcome(None, "stale")

    breached = signal.breached or (signal.in_hysteresis and alert is not None)
    if not breached:
        return clear(alert, signal, now, timing, flap)
    if alert is None:
        return open_alert(signal, now, timing, router, flap, past_changes)
    if alert.state == AlertState.PENDING:
        return hold_pending(alert, signal, now, timing, router, flap, past_changes)
    return continue_firing(alert, signal, now, router, flap)


def open_alert(
    signal: Signal, now: datetime, timing: Timing, router: Router, flap: FlapSettings, past_changes: tuple[datetime, ...]
) -> Outcome:
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
    if timing.hold_for <= timedelta(0):
        return fire(alert, now, router, flap, past_changes, (opened,))
    return Outcome(alert, "opened", (opened,))


def hold_pending(
    alert: Alert,
    signal: Signal,
    now: datetime,
    timing: Timing,
    router: Router,
    flap: FlapSettings,
    past_changes: tuple[datetime, ...],
) -> Outcome:
    alert = with_signal(alert, signal, now)
    if SEVERITY_ORDER[signal.severity] > SEVERITY_ORDER[alert.severity]:
        alert = alert.replace(severity=signal.severity)
    if now - alert.pending_since < timing.hold_for:
        return Outcome(alert, "held")
    return fire(alert, now, router, flap, past_changes, ())


def fire(
    alert: Alert,
    now: datetime,
    router: Router,
    flap: FlapSettings,
    past_changes: tuple[datetime, ...],
    earlier: tuple[Transition, ...],
) -> Outcome:
    routes, escalation = router(alert)
    alert = with_peak(alert, now)
    alert = alert.replace(
        state=AlertState.FIRING,
        fired_at=now,
        escalation=escalation,
        state_changes=recent(past_changes + (now,), now, flap),
        **route_fields(routes),
    )
    breach_duration = now - alert.pending_since
    note = "fired after the breach lasted %ds; routes: %s" % (breach_duration.total_seconds(), ", ".join(alert.routes))
    if escalation is not None:
        note += "; escalation policy %s frozen" % escalation.policy
    firing = Transition(AlertState.PENDING, AlertState.FIRING, note)
    return Outcome(alert, "fired", earlier + (firing,))


def continue_firing(alert: Alert, signal: Signal, now: datetime, router: Router, flap: FlapSettings) -> Outcome:
    """Handle a breach on a firing or acknowledged alert: raise its severity, end a clear spell, or only update."""
    if repeats_last_breach(alert, signal):
        # The steady state of an ongoing incident, and the common case by
        # far: `with_signal` would change nothing but the evaluation time.
        return Outcome(alert.replace(last_evaluated_at=now), "updated")
    if signal.breached:
        alert = with_peak(with_signal(alert, signal, now), now)
    else:
        # A reading inside the hysteresis band keeps the alert open but is
        # not a breach, so the alert keeps the figures of its last breach.
        alert = alert.replace(last_evaluated_at=now)
    transitions: tuple[Transition, ...] = ()
    decision = "updated"

    if alert.clear_since is not None:
        # The condition came back during keep_firing_for or while flapping.
        changes = alert.state_changes + (now,) if alert.flapping else alert.state_changes
        alert = alert.replace(clear_since=None, state_changes=recent(changes, now, flap))
        decision = "kept"

    if SEVERITY_ORDER[signal.severity] > SEVERITY_ORDER[alert.severity]:
        before = alert.severity
        raised = alert.replace(severity=signal.severity)
        routes, _escalation = router(raised)
        # The escalation policy stays the one frozen when the alert fired.
        alert = raised.replace(**route_fields(routes))
        note = "severity raised from %s to %s: %s; routes: %s" % (
            before.value,
            signal.severity.value,
            signal.summary,
            ", ".join(alert.routes),
        )
        transitions = (Transition(alert.state, alert.state, note),)
        decision = "raised"
    return Outcome(alert, decision, transitions)


def clear(alert: Alert | None, signal: Signal, now: datetime, timing: Timing, flap: FlapSettings) -> Outcome:
    """Handle a clear signal: drop a pending alert quietly, resolve a firing one unless it is kept or flapping."""
    if alert is None:
        return Outcome(None, "ignored")
    previous = alert.state
    if previous == AlertState.PENDING:
        alert = with_signal(alert, signal, now)
        transition = Transition(previous, AlertState.RESOLVED, "cleared before firing: %s" % signal.summary)
        return Outcome(alert.replace(state=AlertState.RESOLVED, resolved_at=now), "cleared", (transition,))
    # While the alert stays firing (keep_firing_for, flapping) it keeps the
    # figures of its last breach, so its summary describes what fired. The clear
    # reading replaces them only when the alert resolves.
    alert = alert.replace(last_evaluated_at=now)

    newly_clear = alert.clear_since is None
    clear_since = alert.clear_since or now
    changes = alert.state_changes
    if newly_clear and alert.flapping:
        changes = changes + (now,)
    alert = alert.replace(clear_since=clear_since, state_changes=recent(changes, now, flap))

    if now - clear_since < timing.keep_firing_for:
        return Outcome(alert, "kept")
    if would_flap(alert.state_changes, now, flap):
        if alert.flapping:
            return Outcome(alert, "flapping")
        count = len(alert.state_changes) + 1
        note = "flapping: resolving now would be state change %d within %s; held firing" % (count, flap.window)
        return Outcome(alert.replace(flapping=True), "flapping", (Transition(previous, previous, note),))

    note = "clear: %s" % signal.summary
    if alert.flapping:
        note += " (no longer flapping)"
    resolved = with_signal(alert, signal, now).replace(
        state=AlertState.RESOLVED,
        resolved_at=now,
        flapping=False,
        state_changes=recent(alert.state_changes + (now,), now, flap),
    )
    return Outcome(resolved, "resolved", (Transition(previous, AlertState.RESOLVED, note),))


def repeats_last_breach(alert: Alert, signal: Signal) -> bool:
    """Tell whether a breach leaves a firing alert as it is: no clear spell to end, no higher severity, equal figures.

    The figures are those `with_signal` copies: value, threshold,
    denominator, summary and every annotation of the signal.
    """
    if alert.clear_since is not None:
        return False
    if signal.severity is not alert.severity and SEVERITY_ORDER[signal.severity] > SEVERITY_ORDER[alert.severity]:
        return False
    if (signal.value, signal.threshold, signal.denominator, signal.summary) != (
        alert.value,
        alert.threshold,
        alert.denominator,
        alert.summary,
    ):
        return False
    # Every (name, value) of the signal is already among the alert's annotations.
    return signal.annotations.items() <= alert.annotations.items()


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


def with_peak(alert: Alert, now: datetime) -> Alert:
    """Record the alert's current value as its `peak` annotation when it is the worst seen while firing.

    Only rules that state a direction (`direction` annotation, "above" or
    "below") have a peak. `peak_summary` and `peak_at` tell the reading.
    """
    direction = alert.annotations.get(DIRECTION_ANNOTATION)
    if alert.value is None or direction not in ("above", "below"):
        return alert
    peak = alert.annotations.get(PEAK_ANNOTATION)
    if isinstance(peak, (int, float)):
        worse = alert.value > peak if direction == "above" else alert.value < peak
        if not worse:
            return alert
    annotations = {
        **alert.annotations,
        PEAK_ANNOTATION: alert.value,
        "peak_summary": alert.summary,
        "peak_at": now.isoformat(),
    }
    return alert.replace(annotations=annotations)


def route_fields(routes: tuple[RouteSnapshot, ...]) -> dict:
    channels: list[str] = []
    for route in routes:
        channels.extend(channel for channel in route.channels if channel not in channels)
    repeat = min((route.repeat_interval for route in routes), default=None)
    return {
        "route_snapshots": routes,
        "channels": tuple(channels),
        "repeat_interval": repeat,
        "routes": tuple(route.route for route in routes),
    }
