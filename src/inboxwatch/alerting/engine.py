"""Running one alerting cycle in the caller's transaction: load the state, plan the cycle, store the plan.

The plan (`alerting.cycle`) is pure. This module reads the open alerts,
silences, notification log and recent resolves, and writes the alert
changes, their history, the decision log, the outbox rows and the
notification log together. Because every decision reads the stored state,
a restarted process neither sends a notification twice nor loses a resolve.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.alerting import cycle
from inboxwatch.alerting.grouping import Action, Reason
from inboxwatch.alerting.lifecycle import Outcome, Timing
from inboxwatch.model.alert_groups import alert_group_keys
from inboxwatch.model.matchers import MatcherError, parse_matchers
from inboxwatch.alerting.payloads import escalation_payload, group_payload
from inboxwatch.alerting.silences import Silence
from inboxwatch.model.alerts import Alert, AlertState, Signal
from inboxwatch.store import alerts as alert_store
from inboxwatch.store import notification_log as log_store
from inboxwatch.store.escalated import enqueue_escalation_followups
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import alerts as alerts_table
from inboxwatch.store.silences import list_silences

log = logging.getLogger(__name__)

# Signal annotations holding the rule's `for` and `keep_firing_for` in seconds; 0 when absent.
HOLD_FOR_ANNOTATION = "for_seconds"
KEEP_FIRING_ANNOTATION = "keep_firing_for_seconds"


@dataclasses.dataclass(frozen=True)
class AppliedOutcome:
    """A lifecycle outcome after storing: the saved alert, with its id."""

    outcome: Outcome
    alert: Alert | None


@dataclasses.dataclass(frozen=True)
class CycleResult:
    """The changes of one cycle: lifecycle outcomes, outbox rows written, and decisions counted by reason."""

    outcomes: tuple[AppliedOutcome, ...]
    notifications: int
    decisions: Counter[str]


def signal_timing(signal: Signal) -> Timing:
    """Read the rule's timing from the signal's annotations."""
    annotations = signal.annotations
    return timing_of(annotations.get(HOLD_FOR_ANNOTATION, 0), annotations.get(KEEP_FIRING_ANNOTATION, 0))


# A cycle reads the same few timings from thousands of signals.
@functools.lru_cache(maxsize=256)
def timing_of(hold_for_seconds: float | str, keep_firing_for_seconds: float | str) -> Timing:
    return Timing(
        hold_for=timedelta(seconds=float(hold_for_seconds)),
        keep_firing_for=timedelta(seconds=float(keep_firing_for_seconds)),
    )


def apply_signals(conn: sa.Connection, signals: Iterable[Signal], *, now: datetime, policy: cycle.Policy) -> CycleResult:
    """Run one cycle at `now` over `signals` and every open alert, and store the result."""
    state = load_state(conn, now, policy)
    plan = cycle.plan_cycle(state, list(signals), now=now, policy=policy, timing=signal_timing)
    return store_plan(conn, plan, state, now, notify=policy.notify)


def load_state(conn: sa.Connection, now: datetime, policy: cycle.Policy) -> cycle.CycleState:
    open_alerts = alert_store.open_alerts(conn)
    entries = log_store.load_log(conn) if policy.notify else {}
    notified = {fingerprint for entry in entries.values() for fingerprint in entry.sent_firing}
    candidates = [
        fingerprint
        for fingerprint in notified
        if fingerprint not in open_alerts or open_alerts[fingerprint].state == AlertState.PENDING
    ]
    past_changes = alert_store.recent_state_changes(conn, now - policy.flap.window) if policy.flap.enabled else {}
    return cycle.CycleState(
        open_alerts=open_alerts,
        silences=load_silences(conn, now),
        log=entries,
        resolved=alert_store.latest_resolved(conn, candidates) if candidates else {},
        past_changes=past_changes,
    )


def load_silences(conn: sa.Connection, now: datetime) -> list[Silence]:
    silences = []
    for row in list_silences(conn, ending_after=now):
        try:
            matchers = parse_matchers(row["matchers"])
        except MatcherError as exc:
            # Matchers are checked when a silence is added, so only a hand-edited row gets here.
            log.error("silence %d ignored: invalid matcher: %s", row["id"], exc)
            continue
        silences.append(
            Silence(row["id"], matchers, row["starts_at"], row["ends_at"], row["created_by"], row["comment"], row["created_at"])
        )
    return silences


def store_plan(conn: sa.Connection, plan: cycle.Plan, state: cycle.CycleState, now: datetime, *, notify: bool = True) -> CycleResult:
    rewrite, evaluated = cycle.split_writes(plan.alerts, state.open_alerts)
    saved = dict(plan.alerts)
    saved.update((alert.fingerprint, alert) for alert in alert_store.save_alerts(conn, rewrite))
    ids_by_time: dict[datetime, list[int]] = {}
    for alert in evaluated:
        assert alert.id is not None
        ids_by_time.setdefault(alert.last_evaluated_at, []).append(alert.id)
    for time, ids in ids_by_time.items():
        alert_store.set_last_evaluated(conn, ids, time)

    def stored(alert: Alert) -> Alert:
        # New alerts got their ids just now; others keep theirs. A resolved
        # alert from an earlier cycle may share its fingerprint with a new
        # pending one, so the id decides which stored version is meant.
        latest = saved.get(alert.fingerprint)
        if latest is not None and (alert.id is None or alert.id == latest.id):
            return latest
        return alert

    history = []
    for key, transition in plan.history:
        history.append(
            {
                "alert_id": saved[key].id,
                "time": as_utc(now),
                "from_state": transition.from_state.value if transition.from_state else None,
                "to_state": transition.to_state.value,
                "actor": None,
                "note": transition.note,
            }
        )
    alert_store.record_transitions(conn, history)

    written = store_notifications(conn, plan, stored, now)
    if notify:
        written += notify_escalated_resolves(conn, [saved[key] for key, transition in plan.history if resolves(transition)], now)
    decision_rows = []
    decisions: Counter[str] = Counter()
    for record in plan.decisions:
        decisions[record.reason] += len(record.alerts)
        log.debug("%s (%s) for %d alerts on route %s", record.action, record.reason, len(record.alerts), record.route)
        for alert in record.alerts:
            decision_rows.append(
                {
                    "alert_id": stored(alert).id,
                    "time": as_utc(now),
                    "action": record.action,
                    "reason": record.reason,
                    "group_key": record.group_key,
                    "route": record.route,
                    "channels": list(record.channels),
                }
            )
    log_store.record_decisions(conn, decision_rows)
    entries = [group.entry for group in plan.groups if group.entry is not None]
    log_store.save_entries(conn, entries, state.log, now)

    outcomes = tuple(AppliedOutcome(outcome, stored(outcome.alert) if outcome.alert else None) for outcome in plan.outcomes)
    if decisions:
        # One line per cycle with the count of alerts per decision reason.
        log.info("alert cycle at %s: decisions %s", now.isoformat(), dict(decisions))
    return CycleResult(tuple(item for item in outcomes if item.alert is not None), written, decisions)


def store_notifications(conn: sa.Connection, plan: cycle.Plan, stored, now: datetime) -> int:
    written = 0
    notified_ids: list[int] = []
    for planned in plan.groups:
        decision = planned.decision
        if decision is None or decision.action != Action.NOTIFY:
            if decision is not None and planned.record:
                log.info("group %s on route %s: %s", planned.group.key[:12], planned.group.route.route, decision.reason)
            continue
        group = planned.group
        reason = Reason(decision.reason)
        outbox_reason = reason.outbox_reason(firing=bool(group.firing))
        firing = [stored(alert) for alert in group.firing]
        resolved = [stored(alert) for alert in group.resolved]
        payload = group_payload(
            group_key=group.key,
            route=group.route.route,
            group_labels=group.labels,
            firing=firing,
            resolved=resolved,
            reason=reason.value,
            outbox_reason=outbox_reason,
            time=now,
        )
        members = firing + resolved
        count = log_store.enqueue(
            conn,
            key_parts=["group", group.key],
            channels=group.route.channels,
            reason=outbox_reason,
            payload=payload,
            alert_id=members[0].id if len(members) == 1 else None,
            time=now,
        )
        written += count
        notified_ids.extend(alert.id for alert in members if alert.id is not None)
        log.info(
            "group %s on route %s: %s; %d firing, %d resolved; %d notifications queued",
            group.key[:12],
            group.route.route,
            reason.value,
            len(firing),
            len(resolved),
            count,
        )
        if not group.route.channels:
            log.warning("route %s has no channels: the notification (%s) goes nowhere", group.route.route, reason.value)

    for item in plan.escalations:
        alert = stored(item.alert)
        written += log_store.enqueue(
            conn,
            key_parts=["escalation", str(alert.id), str(item.number)],
            channels=item.level.channels,
            reason="escalation",
            payload=escalation_payload(alert, item.number, now),
            alert_id=alert.id,
            time=now,
        )
        notified_ids.append(alert.id)
        log.info("alert %d escalated to level %d: %s", alert.id, item.number, ", ".join(item.level.channels))

    mark_notified(conn, notified_ids, now)
    return written


def resolves(transition) -> bool:
    """Tell whether a history transition resolves a notified state (a pending alert resolves quietly)."""
    return transition.to_state == AlertState.RESOLVED and transition.from_state in (AlertState.FIRING, AlertState.ACKNOWLEDGED)


def notify_escalated_resolves(conn: sa.Connection, resolved: Sequence[Alert], now: datetime) -> int:
    """Send `resolved` to the channels each resolved alert was escalated to, in the cycle it resolves."""
    written = 0
    for alert in resolved:
        if alert.id is None or not alert.escalation_level:
            continue
        payload = alert_store.notification_payload(alert, "resolved", now)
        # A channel that is also on the route gets the resolve with its group, which waits for the group's last firing alert.
        skip = [(channel, group.key) for group in alert_group_keys(alert) for channel in group.route.channels]
        written += enqueue_escalation_followups(conn, alert.id, "resolved", payload, now, skip=skip)
    return written


def mark_notified(conn: sa.Connection, alert_ids: Sequence[int], now: datetime) -> None:
    if not alert_ids:
        return
    statement = alerts_table.update().where(alerts_table.c.id == sa.bindparam("alert_id")).values(last_notified_at=as_utc(now))
    conn.execute(statement, [{"alert_id": alert_id} for alert_id in sorted(set(alert_ids))])
