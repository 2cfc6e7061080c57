"""Anomaly findings: one detector's judgement of one group, and the signal it becomes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from inboxwatch.analysis.rules import PROVIDER_NAMES, percent
from inboxwatch.model.alerts import Severity, Signal

# Rule names of the anomaly signals; alerts and routes refer to them.
RULE_PREFIX = "anomaly_"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One detector's judgement of one group: what was expected, what was seen, and how sure it is.

    `confidence` is the probability, under the detector's model, that the
    change is real rather than noise; the detectors document how they
    compute it. `anomalous` false means the group was judged and is normal,
    which clears an open alert. `window_start` and `window_end` bound the
    hours that were judged, which end `maturity` before the evaluation time.
    """

    detector: str
    metric: str
    labels: Mapping[str, str]
    anomalous: bool
    expected: float
    observed: float
    confidence: float
    window_start: datetime
    window_end: datetime
    denominator: int | None = None
    detail: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def rule(self) -> str:
        return RULE_PREFIX + self.metric


def to_signal(finding: Finding, at: datetime, hold_for_seconds: float = 0.0) -> Signal:
    """Turn a finding into the signal the alert engine takes; `at` is the evaluation time."""
    return Signal(
        rule=finding.rule,
        severity=Severity.WARNING if finding.anomalous else Severity.INFO,
        labels=dict(finding.labels),
        breached=finding.anomalous,
        time=at,
        value=finding.observed,
        threshold=finding.expected,
        denominator=finding.denominator,
        summary=summarize(finding),
        annotations={
            "detector": finding.detector,
            "metric": finding.metric,
            "expected": finding.expected,
            "observed": finding.observed,
            "confidence": finding.confidence,
            "window_start": finding.window_start.isoformat(),
            "window_end": finding.window_end.isoformat(),
            "for_seconds": hold_for_seconds,
            **dict(finding.detail),
        },
    )


def summarize(finding: Finding) -> str:
    """Write one line such as "Microsoft complaint rate 0.31% (56/18000) over 24h, expected 0.09%: anomalous (cusum, 99.9% sure)"."""
    subject = "%s %s" % (group_name(finding.labels), finding.metric.replace("_", " "))
    hours = max(int((finding.window_end - finding.window_start).total_seconds() // 3600), 1)
    if finding.metric == "volume":
        observed = "%s %d messages over %dh, expected %d" % (subject, round(finding.observed), hours, round(finding.expected))
    elif finding.detector == "ewma":
        counts = ""
        if finding.denominator is not None and "numerator" in finding.detail:
            counts = "; %d/%d in all" % (finding.detail["numerator"], finding.denominator)
        observed = "%s %s (EWMA of the last %dh%s), expected %s" % (subject, percent(finding.observed), hours, counts, percent(finding.expected))
    else:
        counts = ""
        if finding.denominator is not None and "numerator" in finding.detail:
            counts = " (%d/%d)" % (finding.detail["numerator"], finding.denominator)
        observed = "%s %s%s over %dh, expected %s" % (subject, percent(finding.observed), counts, hours, percent(finding.expected))
    verdict = "anomalous" if finding.anomalous else "normal"
    return "%s: %s (%s, %.1f%% sure)" % (observed, verdict, finding.detector, finding.confidence * 100)


def group_name(labels: Mapping[str, str]) -> str:
    parts = []
    for dimension in ("provider", "sending_ip", "sending_domain"):
        value = labels.get(dimension)
        if value is None:
            continue
        parts.append(PROVIDER_NAMES.get(value, value) if dimension == "provider" else value or "unknown %s" % dimension)
    name = " ".join(parts) or "Overall"
    tenant = labels.get("tenant")
    if tenant and tenant != "default":
        name = "%s: %s" % (tenant, name)
    return name
