"""Running every detector over every group of one dimension at one evaluation time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from inboxwatch.analysis.anomaly.detectors import (
    HourPoint,
    RateWindow,
    judge_complaints,
    judge_rate_ewma,
    judge_volume,
    rate_window,
)
from inboxwatch.analysis.anomaly.findings import Finding
from inboxwatch.analysis.anomaly.parameters import AnomalyParameters
from inboxwatch.analysis.anomaly.shrinkage import fit_prior

# The metrics judged, in report order.
METRICS = ("complaint_rate", "bounce_rate", "deferral_rate", "volume")


def detect(
    groups: Mapping[tuple[tuple[str, str], ...], Sequence[HourPoint]],
    at: datetime,
    params: AnomalyParameters,
    metrics: Sequence[str] = METRICS,
) -> list[Finding]:
    """Judge every group's hourly series at `at` and return one finding per (group, metric) that could be judged.

    `groups` maps a group's labels, as sorted (name, value) pairs, to its
    hourly counts in time order. The groups together are the fleet: each
    rate's Beta prior is fitted on their baselines, so a group is shrunk
    toward the other groups of the same dimension.
    """
    findings: list[Finding] = []
    windows: dict[tuple[tuple[tuple[str, str], ...], str], RateWindow] = {}
    priors = {}
    for metric in metrics:
        if metric == "volume":
            continue
        for key, series in groups.items():
            window = rate_window(series, metric, at, params)
            if window is not None:
                windows[(key, metric)] = window
        baselines = [window.baseline_total for (_, name), window in windows.items() if name == metric]
        priors[metric] = fit_prior(baselines, params.prior_strength)

    for key, series in groups.items():
        labels = dict(key)
        for metric in metrics:
            if metric == "volume":
                finding = judge_volume(series, labels, at, params)
            elif (key, metric) not in windows:
                continue
            elif metric == "complaint_rate":
                finding = judge_complaints(windows[(key, metric)], labels, priors[metric], params)
            else:
                finding = judge_rate_ewma(windows[(key, metric)], labels, priors[metric], params)
            if finding is not None:
                findings.append(finding)
    return findings
