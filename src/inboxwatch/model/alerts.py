"""Signals from evaluators and the alert states built from them."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


# `Severity.value` goes through the enum's descriptor, which costs more
# than a dict lookup in loops over every open alert.
SEVERITY_VALUES = {severity: severity.value for severity in Severity}


class AlertState(str, enum.Enum):
    PENDING = "pending"
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclasses.dataclass(frozen=True)
class Signal:
    """An evaluator's finding at one moment: a rule breached (`breached`) or clear.

    `labels` identify what is affected (tenant, provider, sending_ip,
    sending_domain, list, ...); with `rule` they make the alert's
    fingerprint. `value` and `threshold` are what was seen and the limit it
    was judged against; `denominator` is the volume behind a rate.
    """

    rule: str
    severity: Severity
    labels: Mapping[str, str]
    breached: bool
    time: datetime
    value: float | None = None
    threshold: float | None = None
    denominator: int | None = None
    summary: str = ""
    annotations: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # True on a clear signal whose value is past the enter level but not yet
    # past the rule's exit level (`resolve_below`/`resolve_above`): an open
    # alert stays open, and no alert is opened.
    in_hysteresis: bool = False


@dataclasses.dataclass(frozen=True)
class RouteSnapshot:
    """A route an alert matched when it fired, with the settings it had then.

    `group_by` lists the labels that form the notification group; ("...",)
    groups by every label, so each alert is its own group. The time windows
    are names, looked up in the configuration when a notification is due.
    """

    route: str
    channels: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    active_windows: tuple[str, ...] = ()
    mute_windows: tuple[str, ...] = ()
    escalation_policy: str | None = None


@dataclasses.dataclass(frozen=True)
class EscalationLevel:
    """One step of an escalation policy: notify `channels` once the alert is unacknowledged for `after`."""

    after: timedelta
    channels: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class EscalationSnapshot:
    """An escalation policy as it was when the alert fired; later edits of the policy do not change it."""

    policy: str
    levels: tuple[EscalationLevel, ...]


# Alert states of an ongoing incident. The alert lifecycle keeps at most one
# alert per fingerprint in them.
OPEN_STATES = (AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED)


@dataclasses.dataclass(frozen=True)
class Alert:
    """The lasting object made from signals with one fingerprint, as stored in `alerts`.

    `severity` is the highest reached during the incident. `channels`,
    `repeat_interval`, `routes` and `route_snapshots` are frozen from the
    matching routes when the alert fires (and again when its severity
    rises), so later edits of the routes do not change where an ongoing
    incident is notified. `silenced_by` holds silence ids and `inhibited_by`
    the fingerprints of the alerts that inhibit this one; a muted alert keeps its
    state but is not notified. `id` is None until the alert is stored.
    """

    id: int | None
    fingerprint: str
    rule: str
    tenant: str
    labels: Mapping[str, str]
    severity: Severity
    state: AlertState
    pending_since: datetime
    last_evaluated_at: datetime
    value: float | None = None
    threshold: float | None = None
    denominator: int | None = None
    summary: str = ""
    annotations: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    last_notified_at: datetime | None = None
    channels: tuple[str, ...] = ()
    repeat_interval: timedelta | None = None
    routes: tuple[str, ...] = ()
    route_snapshots: tuple[RouteSnapshot, ...] = ()
    # When clear signals began while firing; kept for `keep_firing_for`.
    clear_since: datetime | None = None
    # Times the alert fired or resolved, and times its condition changed
    # while it was held, within the flap window; see alerting.flapping.
    state_changes: tuple[datetime, ...] = ()
    flapping: bool = False
    silenced_by: tuple[int, ...] = ()
    inhibited_by: tuple[str, ...] = ()
    escalation: EscalationSnapshot | None = None
    # How many escalation levels have been notified.
    escalation_level: int = 0

    def replace(self, **changes: Any) -> "Alert":
        """Return a copy with `changes` applied, like `dataclasses.replace`.

        It copies the instance dict instead of calling `__init__`, because
        the alert engine replaces every open alert several times per cycle
        and `dataclasses.replace` was the largest cost of a cycle. Alert has
        no `__post_init__`, so nothing is skipped.
        """
        if not ALERT_FIELDS.issuperset(changes):
            raise TypeError("Alert has no field %s" % ", ".join(sorted(set(changes) - ALERT_FIELDS)))
        fields = self.__dict__.copy()
        fields.update(changes)
        return with_instance_dict(Alert, fields)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> "Alert":
        """Build an alert from a dict holding every field, without calling `__init__`.

        Loading the open alerts builds thousands per cycle, and the frozen
        `__init__` sets each of the fields through `object.__setattr__`. As
        for `replace`, nothing is skipped because Alert has no `__post_init__`.
        """
        if fields.keys() != ALERT_FIELDS:
            differing = ", ".join(sorted(fields.keys() ^ ALERT_FIELDS))
            raise TypeError("Alert.from_fields needs exactly the fields of Alert; missing or unknown: %s" % differing)
        return with_instance_dict(cls, fields.copy())

    @property
    def muted(self) -> bool:
        return bool(self.silenced_by or self.inhibited_by)

    def match_labels(self) -> dict[str, str]:
        """Return the labels that routes, silences and inhibition rules match: the alert's labels, `rule` and `severity`."""
        return {**self.labels, "rule": self.rule, "severity": SEVERITY_VALUES[self.severity]}


ALERT_FIELDS = frozenset(field.name for field in dataclasses.fields(Alert))


def with_instance_dict(cls: type[Alert], fields: dict[str, Any]) -> Alert:
    # Assigning a ready dict as the instance dict took about half the time
    # of filling the new instance's own dict with `update` (CPython 3.11).
    alert = object.__new__(cls)
    object.__setattr__(alert, "__dict__", fields)
    return alert
