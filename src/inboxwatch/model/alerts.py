"""Signals from evaluators and the alert states built from them."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
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
