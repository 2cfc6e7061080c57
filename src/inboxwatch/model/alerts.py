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


# Alert states of an ongoing incident. The alert lifecycle keeps at most one
# alert per fingerprint in them.
OPEN_STATES = (AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED)


@dataclasses.dataclass(frozen=True)
class Alert:
    """The lasting object made from signals with one fingerprint, as stored in `alerts`.

    `severity` is the highest reached during the incident. `channels`,
    `repeat_interval` and `routes` are frozen from the matching routes when
    the alert fires (and again when it escalates), so later edits of the
    routes do not change where an ongoing incident is notified. `id` is None
    until the alert is stored.
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

    def replace(self, **changes: Any) -> "Alert":
        return dataclasses.replace(self, **changes)
