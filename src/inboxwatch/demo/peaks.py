"""The worst value each alert's rule reported while the alert was firing, taken from a replay's evaluations."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime

from inboxwatch.analysis.rules import ABOVE, BELOW
from inboxwatch.model.alerts import AlertState
from inboxwatch.service.evaluate import EvaluationSummary

FIRING_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)


@dataclasses.dataclass(frozen=True)
class AlertPeak:
    """An alert's worst rate while firing, with its counts and the evaluation time it was seen at."""

    value: float
    numerator: int | None
    denominator: int | None
    at: datetime


def alert_peaks(summaries: Iterable[EvaluationSummary], directions: Mapping[str, str]) -> dict[int, AlertPeak]:
    """Return the peak of each alert that fired, by alert id.

    `directions` maps a threshold rule's name to "above" (a higher value is
    worse) or "below" (a lower value is worse). Alerts of other rules, such
    as anomaly detectors, get no peak.
    """
    peaks: dict[int, AlertPeak] = {}
    for summary in summaries:
        for item in summary.outcomes:
            alert = item.alert
            if alert is None or alert.id is None or alert.value is None or alert.state not in FIRING_STATES:
                continue
            direction = directions.get(alert.rule)
            if direction not in (ABOVE, BELOW):
                continue
            current = peaks.get(alert.id)
            if current is not None and not is_worse(alert.value, current.value, direction):
                continue
            numerator = alert.annotations.get("numerator")
            peaks[alert.id] = AlertPeak(alert.value, numerator, alert.denominator, summary.at)
    return peaks


def is_worse(value: float, than: float, direction: str) -> bool:
    return value > than if direction == ABOVE else value < than
