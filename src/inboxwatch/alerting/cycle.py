"""One alerting cycle as a pure plan: signals through the lifecycle, then mute stages, escalation and grouping.

`plan_cycle` takes what the engine loaded (open alerts, silences, the
notification log, recent resolves) and returns every change to store:
alerts, history entries, notification decisions, group notifications,
escalations and log entries. It walks all open alerts, not only those with
a signal this cycle, so repeats, escalations and delayed group notifications
happen while a firing alert gets no new signal. Pure: no I/O, and `now` is
the one time of the cycle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from inboxwatch.alerting import escalation, grouping
from inboxwatch.alerting.flapping import FlapSettings
from inboxwatch.alerting.inhibition import InhibitRule, InhibitStage
from inboxwatch.alerting.lifecycle import Outcome, Timing, Transition, apply_signal, fingerprint
from inboxwatch.alerting.routing import Route, route_alert
from inboxwatch.alerting.silences import Silence, SilenceStage
from inboxwatch.alerting.stages import apply_stages
from inboxwatch.model.timewindows import TimeWindow
from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState, EscalationSnapshot, RouteSnapshot, Signal
from inboxwatch.model.notification_log import GroupLogEntry


@dataclasses.dataclass(frozen=True)
class Policy:
    """The alerting configuration one cycle applies.

    With `notify` false the alerts change as usual, but no group is
    decided, nothing is escalated and the notification log stays as it is,
    for replaying old logs without paging anyone.
    """

    root: Route
    inhibit_rules: tuple[InhibitRule, ...] = ()
    windows: Mapping[str, TimeWindow] = dataclasses.field(default_factory=dict)
    escalation_policies: Mapping[str, EscalationSnapshot] = dataclasses.field(default_factory=dict)
    flap: FlapSettings = FlapSettings()
    send_resolved_after_mute: bool = True
    notify: bool = True


@dataclasses.dataclass(frozen=True)
class CycleState:
    """The stored state the engine read before the cycle.

    `past_changes` contains, by fingerprint, the state changes of recently
    resolved alerts within the flap window. `resolved` contains the latest
    resolved alert of each fingerprint that a group last notified as firing.
    """

    open_alerts: Mapping[str, Alert]
    silences: Sequence[Silence] = ()
    log: Mapping[str, GroupLogEntry] = dataclasses.field(default_factory=dict)
    resolved: Mapping[str, Alert] = dataclasses.field(default_factory=dict)
    past_changes: Mapping[str, tuple[datetime, ...]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DecisionRecord:
    """A notification decision about some alerts, for the decision log and `alerts history`."""

    alerts: tuple[Alert, ...]
    action: str
    reason: str
    group_key: str | None = None
    route: str | None = None
    channels: tuple[str, ...] = ()


@dataclasses.dataclass
class Plan:
    """Everything a cycle changes. `alerts` contains the alerts to store, by fingerprint, in their final form."""

    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    alerts: dict[str, Alert] = dataclasses.field(default_factory=dict)
    history: list[tuple[str, Transition]] = dataclasses.field(default_factory=list)
    decisions: list[DecisionRecord] = dataclasses.field(default_factory=list)
    groups: list[grouping.GroupPlan] = dataclasses.field(default_factory=list)
    escalations: list[escalation.Escalation] = dataclasses.field(default_factory=list)


def plan_cycle(
    state: CycleState,
    signals: Sequence[Signal],
    *,
    now: datetime,
    policy: Policy,
    timing: Callable[[Signal], Timing],
) -> Plan:
    """Plan one cycle at `now`; `timing` returns the `for` and `keep_firing_for` of a signal's rule."""
    plan = Plan()
    current = dict(state.open_alerts)
    resolved_now: dict[str, Alert] = {}
    router = make_router(policy)

    for signal in signals:
        key = fingerprint(signal.rule, signal.labels)
        alert = current.get(key)
        if alert is None and not signal.breached:
            # The common case of a clear series: nothing to open or resolve,
            # so no outcome is recorded.
            continue
        outcome = apply_signal(
            alert,
            signal,
            now=now,
            timing=timing(signal),
            router=router,
            flap=policy.flap,
            past_changes=state.past_changes.get(key, ()),
        )
        plan.outcomes.append(outcome)
        if outcome.alert is None:
            continue
        plan.alerts[key] = outcome.alert
        if outcome.transitions:
            plan.history.extend((key, transition) for transition in outcome.transitions)
        if outcome.alert.state == AlertState.RESOLVED:
            current.pop(key, None)
            resolved_now[key] = outcome.alert
        else:
            current[key] = outcome.alert

    apply_mutes(plan, current, state.silences, policy, now)
    if not policy.notify:
        return plan
    escalate(plan, current, now)
    last_sent = max((entry.last_sent_at for entry in state.log.values() if entry.last_sent_at), default=None)
    if last_sent is not None and now < last_sent:
        # A replay of a time before the latest notification: deciding the
        # groups at that time would undo what the log records as sent.
        return plan
    dispatch(plan, state, current, resolved_now, policy, now)
    return plan


def split_writes(alerts: Mapping[str, Alert], loaded: Mapping[str, Alert]) -> tuple[list[Alert], list[Alert]]:
    """Split a plan's alerts into those to store whole and those whose only change is `last_evaluated_at`.

    `loaded` contains the open alerts as read before the cycle. An alert is
    stored whole when it is new, when it replaces the loaded alert of its
    fingerprint, or when any other field differs from the loaded one. In a
    steady cycle most open alerts only move their evaluation time, and
    storing them whole would re-encode every JSON column for nothing.
    """
    rewrite: list[Alert] = []
    evaluated: list[Alert] = []
    for key, alert in alerts.items():
        before = loaded.get(key)
        if before is None or alert.id is None or alert.id != before.id or not same_except_evaluation(before, alert):
            rewrite.append(alert)
        elif alert.last_evaluated_at != before.last_evaluated_at:
            evaluated.append(alert)
    return rewrite, evaluated


def same_except_evaluation(before: Alert, after: Alert) -> bool:
    # `Alert.replace` copies the instance dict, so an unchanged field is the
    # same object and the dict comparison takes its identity shortcut.
    return {**after.__dict__, "last_evaluated_at": before.last_evaluated_at} == before.__dict__


def make_router(policy: Policy):
    def router(alert: Alert) -> tuple[tuple[RouteSnapshot, ...], EscalationSnapshot | None]:
        routes = route_alert(alert.match_labels(), policy.root)
        policy_name = next((route.escalation_policy for route in routes if route.escalation_policy), None)
        return routes, escalation.snapshot(policy_name, policy.escalation_policies)

    return router


def apply_mutes(plan: Plan, current: dict[str, Alert], silences: Sequence[Silence], policy: Policy, now: datetime) -> None:
    stages = [InhibitStage(policy.inhibit_rules), SilenceStage(silences)]
    # Alerts evaluated after `now` keep their marks, so a replay of an
    # earlier time does not mute or unmute a live alert by yesterday's silences.
    alerts = [alert for alert in current.values() if alert.state in OPEN_STATES and alert.last_evaluated_at <= now]
    marked, changes = apply_stages(alerts, stages, now)
    by_fingerprint = {alert.fingerprint: alert for alert in marked}
    for change in changes:
        alert = by_fingerprint[change.fingerprint]
        current[change.fingerprint] = alert
        plan.alerts[change.fingerprint] = alert
        plan.history.append((change.fingerprint, Transition(alert.state, alert.state, change.reason)))
        if alert.state != AlertState.PENDING:
            plan.decisions.append(DecisionRecord((alert,), "suppress" if alert.muted else "unmute", change.reason))


def escalate(plan: Plan, current: dict[str, Alert], now: datetime) -> None:
    for key, alert in list(current.items()):
        due = escalation.due_levels(alert, now)
        if not due:
            continue
        escalated = alert.replace(escalation_level=due[-1].number)
        current[key] = escalated
        plan.alerts[key] = escalated
        for item in due:
            assert escalated.escalation is not None
            note = "escalation policy %s level %d: unacknowledged for %s; notifying %s" % (
                escalated.escalation.policy,
                item.number,
                now - (escalated.fired_at or now),
                ", ".join(item.level.channels),
            )
            plan.history.append((key, Transition(escalated.state, escalated.state, note)))
            plan.escalations.append(dataclasses.replace(item, alert=escalated))
            plan.decisions.append(
                DecisionRecord((escalated,), "notify", "escalation level %d" % item.number, channels=item.level.channels)
            )


def dispatch(
    plan: Plan,
    state: CycleState,
    current: Mapping[str, Alert],
    resolved_now: Mapping[str, Alert],
    policy: Policy,
    now: datetime,
) -> None:
    still_firing = {key for key, alert in current.items() if alert.state in grouping.NOTIFIABLE_STATES}
    resolved = {key: alert for key, alert in {**state.resolved, **resolved_now}.items() if key not in still_firing}
    groups = grouping.build_groups(
        list(current.values()), resolved, state.log, send_resolved_after_mute=policy.send_resolved_after_mute
    )
    for key, group in groups.items():
        planned = grouping.plan_group(group, state.log.get(key), policy.windows, now)
        plan.groups.append(planned)
        if planned.decision is not None and planned.record:
            members = tuple(group.firing) + tuple(group.resolved)
            plan.decisions.append(
                DecisionRecord(
                    members, planned.decision.action.value, planned.decision.reason, key, group.route.route, group.route.channels
                )
            )
        if group.dropped:
            plan.decisions.append(
                DecisionRecord(tuple(group.dropped), "suppress", "suppressed: resolved while muted", key, group.route.route)
            )

    notified = {key for entry in state.log.values() for key in entry.sent_firing}
    for key, alert in resolved_now.items():
        if alert.fired_at is not None and key not in notified:
            reason = "not notified: resolved before its group sent a firing notification"
            plan.decisions.append(DecisionRecord((alert,), "suppress", reason))
