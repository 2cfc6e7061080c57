"""Notification groups and the decision to notify each one, as in Alertmanager's dispatcher and notification log.

Every route an alert matched puts it in one group per route: the route and
the values of the route's `group_by` labels. Each cycle every group with
firing or newly resolved alerts gets one decision, with a reason:

- `first notification`: nothing was sent for this incident yet, and
  `group_wait` has passed since the group's first firing alert;
- `new alerts` / `severity raised` / `resolved`: the firing set grew, an
  alert's severity rose, or a notified alert resolved, and `group_interval`
  has passed since the last notification;
- `repeat`: nothing changed, an unacknowledged alert still fires, and
  `repeat_interval` has passed.

Otherwise the group waits, or the route's time windows suppress it; a
suppressed change is sent once the window allows. A notification lists
every firing alert of the group and the resolved ones. A resolve is sent
only for an alert that was notified as firing, so an alert that fires and
resolves within `group_wait` sends nothing. Muted (silenced or inhibited)
alerts are left out; a muted alert that resolves is still reported when
`send_resolved_after_mute` is set and it was notified before. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from inboxwatch.alerting.lifecycle import SEVERITY_ORDER
from inboxwatch.model.timewindows import TimeWindow, window_blocks
from inboxwatch.model.alert_groups import ALL_LABELS, group_key, group_labels_of
from inboxwatch.model.alerts import Alert, AlertState, RouteSnapshot
from inboxwatch.model.notification_log import GroupLogEntry

NOTIFIABLE_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)

# Severity order by the value the notification log stores. Looking the
# value up here is several times faster than `Severity(value)`, and `rose`
# runs for every firing alert of every group.
ORDER_BY_VALUE = {severity.value: order for severity, order in SEVERITY_ORDER.items()}


class Reason(str, enum.Enum):
    """The reason a group is notified."""

    FIRST = "first notification"
    NEW_ALERTS = "new alerts"
    SEVERITY_RAISED = "severity raised"
    RESOLVED = "resolved"
    REPEAT = "repeat"

    def outbox_reason(self, *, firing: bool) -> str:
        """Return the coarse reason stored in `outbox.reason`, which channels use for their subject tag and event type.

        `firing` is whether any alert of the group still fires. A resolve
        while others of the group fire is a firing update, so a receiver
        that keys on the group (PagerDuty) keeps the incident open, and
        `resolved` is sent only once the group has no firing alert left.
        """
        if not firing:
            return "resolved"
        return "repeat" if self == Reason.REPEAT else "firing"


class Action(str, enum.Enum):
    NOTIFY = "notify"
    WAIT = "wait"
    SUPPRESS = "suppress"


@dataclasses.dataclass(frozen=True)
class Decision:
    """The action for a group this cycle with its reason: a Reason value for NOTIFY, free text otherwise."""

    action: Action
    reason: str


@dataclasses.dataclass
class Group:
    """A group's members this cycle. `resolved` contains notified alerts that resolved since the last notification."""

    key: str
    route: RouteSnapshot
    labels: dict[str, str]
    firing: list[Alert] = dataclasses.field(default_factory=list)
    resolved: list[Alert] = dataclasses.field(default_factory=list)
    # Notified fingerprints to forget without a notification: muted alerts
    # that resolved while `send_resolved_after_mute` is off.
    dropped: list[Alert] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class GroupPlan:
    """A group with its decision and the log entry to store; `entry` is None when the log does not change."""

    group: Group
    decision: Decision | None
    entry: GroupLogEntry | None
    record: bool


def build_groups(
    open_alerts: Sequence[Alert],
    resolved_by_fingerprint: Mapping[str, Alert],
    log: Mapping[str, GroupLogEntry],
    *,
    send_resolved_after_mute: bool,
) -> dict[str, Group]:
    """Put the unmuted firing alerts in their groups, and the notified alerts that resolved in theirs."""
    groups: dict[str, Group] = {}
    key_of = group_key_memo()
    for alert in open_alerts:
        if alert.state not in NOTIFIABLE_STATES or alert.muted:
            continue
        match_labels = alert.match_labels()
        for route in alert.route_snapshots:
            key = key_of(alert, match_labels, route)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key, route, group_labels_of(alert, match_labels, route.group_by))
            group.firing.append(alert)

    for key, entry in log.items():
        for fingerprint in entry.sent_firing:
            alert = resolved_by_fingerprint.get(fingerprint)
            if alert is None:
                continue
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key, entry.route, dict(entry.group_labels))
            if alert.muted and not send_resolved_after_mute:
                group.dropped.append(alert)
            else:
                group.resolved.append(alert)
    return groups


def group_key_memo() -> Callable[[Alert, Mapping[str, str], RouteSnapshot], str]:
    """Return a `group_key` of an alert on a route that hashes each distinct group once.

    The returned function takes the alert, its `match_labels()` and the
    route. It keeps the keys by route name, `group_by` and the values of
    those labels, so one pass over the open alerts hashes a key per group
    instead of per alert. With "..." every alert is its own group, so
    those keys are not kept.
    """
    keys: dict[tuple, str] = {}

    def key_of(alert: Alert, match_labels: Mapping[str, str], route: RouteSnapshot) -> str:
        group_by = route.group_by
        if ALL_LABELS in group_by:
            return group_key(route.route, group_labels_of(alert, match_labels, group_by))
        values = (route.route, group_by, tuple([match_labels.get(name, "") for name in group_by]))
        key = keys.get(values)
        if key is None:
            key = keys[values] = group_key(route.route, group_labels_of(alert, match_labels, group_by))
        return key

    return key_of


def plan_group(group: Group, entry: GroupLogEntry | None, windows: Mapping[str, TimeWindow], now: datetime) -> GroupPlan:
    """Decide what to do with one group and return the log entry to store."""
    if entry is None:
        entry = GroupLogEntry(group.key, group.route, group.labels)
    if group.firing and entry.first_active_at is None:
        entry = dataclasses.replace(entry, first_active_at=now, route=group.route)

    decision = decide(group, entry, windows, now)
    if decision is None:
        if group.dropped:
            return GroupPlan(group, None, forget(entry, group.dropped), False)
        if not group.firing and not entry.sent_firing and entry.first_active_at is not None:
            # Everything fired and cleared within group_wait: the incident ends unsent.
            return GroupPlan(group, None, dataclasses.replace(entry, first_active_at=None, last_decision=None), False)
        return GroupPlan(group, None, None, False)

    record = decision.action == Action.NOTIFY or decision.reason != entry.last_decision
    if decision.action != Action.NOTIFY:
        changed = dataclasses.replace(entry, last_decision=decision.reason)
        if group.dropped:
            changed = forget(changed, group.dropped)
        return GroupPlan(group, decision, changed if changed != entry or record else None, record)

    sent = {alert.fingerprint: alert.severity.value for alert in group.firing}
    notified = dataclasses.replace(
        entry,
        route=group.route,
        first_active_at=entry.first_active_at if group.firing else None,
        last_sent_at=now,
        last_reason=decision.reason,
        sent_firing=sent,
        last_decision=decision.reason,
    )
    return GroupPlan(group, decision, notified, True)


def decide(group: Group, entry: GroupLogEntry, windows: Mapping[str, TimeWindow], now: datetime) -> Decision | None:
    route = group.route
    if not group.firing and not group.resolved:
        return None

    if not entry.sent_firing or entry.last_sent_at is None:
        if not group.firing:
            return None
        assert entry.first_active_at is not None
        if now - entry.first_active_at < route.group_wait:
            return Decision(Action.WAIT, "within group_wait")
        return gate(route, windows, now, Reason.FIRST)

    new = [alert for alert in group.firing if alert.fingerprint not in entry.sent_firing]
    raised = [alert for alert in group.firing if rose(alert, entry.sent_firing.get(alert.fingerprint))]
    if new or raised or group.resolved:
        if now - entry.last_sent_at < route.group_interval:
            return Decision(Action.WAIT, "within group_interval")
        if new:
            reason = Reason.NEW_ALERTS
        elif raised:
            reason = Reason.SEVERITY_RAISED
        else:
            reason = Reason.RESOLVED
        return gate(route, windows, now, reason)

    if not any(alert.state == AlertState.FIRING for alert in group.firing):
        # Every firing alert is acknowledged, which stops repeats.
        return None
    if now - entry.last_sent_at < route.repeat_interval:
        return None
    return gate(route, windows, now, Reason.REPEAT)


def gate(route: RouteSnapshot, windows: Mapping[str, TimeWindow], now: datetime, reason: Reason) -> Decision:
    blocked = window_blocks(route.active_windows, route.mute_windows, windows, now)
    if blocked is not None:
        return Decision(Action.SUPPRESS, "suppressed: %s" % blocked)
    return Decision(Action.NOTIFY, reason.value)


def rose(alert: Alert, sent_severity: str | None) -> bool:
    if sent_severity is None:
        return False
    sent_order = ORDER_BY_VALUE.get(sent_severity)
    if sent_order is None:
        raise ValueError("%r is not a valid Severity" % sent_severity)
    return SEVERITY_ORDER[alert.severity] > sent_order


def forget(entry: GroupLogEntry, alerts: Sequence[Alert]) -> GroupLogEntry:
    drop = {alert.fingerprint for alert in alerts}
    remaining = {fingerprint: severity for fingerprint, severity in entry.sent_firing.items() if fingerprint not in drop}
    return dataclasses.replace(entry, sent_firing=remaining)
