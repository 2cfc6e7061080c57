"""The anomaly detectors applied to one group's hourly counts: pure, with the evaluation time passed in.

Every detector first drops the hours that are not mature yet (see
`AnomalyParameters`), then splits what is left into a baseline (the
`baseline` before the monitored window) and the monitored window (the last
`monitor`). Rates are judged with their denominators: the baseline rate is
the posterior mean under the fleet's Beta prior, so a small stream borrows
strength from the fleet, and batch-to-batch spread beyond binomial noise
widens the limits. A detector returns None when there is too little data to
judge, and never a made-up figure.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from statistics import NormalDist

from inboxwatch.analysis.anomaly.cusum import bernoulli_cusum
from inboxwatch.analysis.anomaly.ewma import ewma_chart, extra_variance, pool_batches
from inboxwatch.analysis.anomaly.findings import Finding
from inboxwatch.analysis.anomaly.parameters import AnomalyParameters
from inboxwatch.analysis.anomaly.robust import median_and_mad, robust_z
from inboxwatch.analysis.anomaly.shrinkage import BetaPrior, posterior
from inboxwatch.store.metrics import CountRow, sent_volume

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)

# One hour of counts: the hour's start and its sums.
HourPoint = tuple[datetime, CountRow]
Counts = tuple[int, int]

NORMAL = NormalDist()


def complaint_counts(row: CountRow) -> Counts:
    return row.complained, row.delivered


def bounce_counts(row: CountRow) -> Counts:
    return row.bounced, sent_volume(row)


def deferral_counts(row: CountRow) -> Counts:
    return row.deferred, row.delivered + row.deferred + row.bounced


# Rate metrics the detectors judge, with the counts behind each.
RATE_COUNTS: dict[str, Callable[[CountRow], Counts]] = {
    "complaint_rate": complaint_counts,
    "bounce_rate": bounce_counts,
    "deferral_rate": deferral_counts,
}


def mature(series: Sequence[HourPoint], at: datetime, maturity: timedelta) -> Sequence[HourPoint]:
    """Return the hours that ended at least `maturity` before `at`; `series` must be in time order."""
    return series[: bisect_right(series, at - maturity - HOUR, key=start_of)]


def start_of(point: HourPoint) -> datetime:
    return point[0]


def split(points: Sequence[HourPoint], params: AnomalyParameters) -> tuple[Sequence[HourPoint], Sequence[HourPoint]] | None:
    """Split mature hours into (baseline, monitored); None when there are none."""
    if not points:
        return None
    end = points[-1][0] + HOUR
    monitor_start = end - params.monitor
    baseline_start = monitor_start - params.baseline
    first = bisect_left(points, baseline_start, key=start_of)
    middle = bisect_left(points, monitor_start, key=start_of)
    return points[first:middle], points[middle:]


@dataclasses.dataclass(frozen=True)
class RateWindow:
    """One group's counts for one rate: hourly baseline and monitored (numerator, denominator) pairs and the judged hours."""

    metric: str
    baseline: list[Counts]
    monitored: list[Counts]
    start: datetime
    end: datetime

    @property
    def baseline_total(self) -> Counts:
        return sum(x for x, _ in self.baseline), sum(n for _, n in self.baseline)

    @property
    def monitored_total(self) -> Counts:
        return sum(x for x, _ in self.monitored), sum(n for _, n in self.monitored)


def rate_window(series: Sequence[HourPoint], metric: str, at: datetime, params: AnomalyParameters) -> RateWindow | None:
    """Cut a group's mature hours into baseline and monitored counts of `metric`.

    None when no hour is mature or the baseline spans less than `min_baseline`.
    """
    parts = split(mature(series, at, maturity_of(metric, params)), params)
    if parts is None or not parts[1]:
        return None
    baseline, monitored = parts
    counts_of = RATE_COUNTS[metric]
    # The store returns zero rows for hours before a group's first mail; history starts at the first volume.
    first_active = next((start for start, row in baseline if counts_of(row)[1] > 0), None)
    if first_active is None or monitored[0][0] - first_active < params.min_baseline:
        return None
    return RateWindow(
        metric=metric,
        baseline=[counts_of(row) for _, row in baseline],
        monitored=[counts_of(row) for _, row in monitored],
        start=monitored[0][0],
        end=monitored[-1][0] + HOUR,
    )


def maturity_of(metric: str, params: AnomalyParameters) -> timedelta:
    return {
        "complaint_rate": params.complaint_maturity,
        "bounce_rate": params.bounce_maturity,
        "deferral_rate": params.deferral_maturity,
        "volume": params.volume_maturity,
    }[metric]


def judge_complaints(window: RateWindow, labels: dict[str, str], prior: BetaPrior | None, params: AnomalyParameters) -> Finding | None:
    """Judge the complaint rate with a Bernoulli CUSUM over the monitored window.

    Batches are weighted down by the design effect of the baseline's extra
    spread (n_eff = n / (1 + n tau^2 / (p0 (1 - p0)))), so that hours which
    vary more than binomial noise count as less evidence. The statistic is a
    log-likelihood ratio, so the confidence reported is 1 - exp(-S): the
    chance of the baseline rate producing such evidence is below exp(-S)
    (Wald's bound for the likelihood ratio).
    """
    p0 = baseline_rate(window, prior, params)
    if p0 is None:
        return None
    tau2 = extra_variance(window.baseline, p0)
    p1 = min(p0 * params.complaint_shift, 0.999)
    result = bernoulli_cusum([weigh(x, n, p0, tau2) for x, n in window.monitored], p0, p1)
    x_total, n_total = window.monitored_total
    return Finding(
        detector="cusum",
        metric="complaint_rate",
        labels=labels,
        anomalous=result.statistic > params.complaint_h,
        expected=p0,
        observed=x_total / n_total,
        confidence=1 - math.exp(-result.statistic),
        window_start=window.start,
        window_end=window.end,
        denominator=n_total,
        detail={"numerator": x_total, "cusum": round(result.statistic, 3), "cusum_limit": params.complaint_h},
    )


def judge_rate_ewma(window: RateWindow, labels: dict[str, str], prior: BetaPrior | None, params: AnomalyParameters) -> Finding | None:
    """Judge a bounce or deferral rate with an EWMA chart over the monitored window.

    Quiet hours are pooled until a batch contains `min_batch` messages and
    about 5 expected events, which keeps the normal limits honest. Anomalous
    when the EWMA is more than `ewma_limit` standard deviations above the
    baseline and at least `ewma_min_ratio` times it. The confidence is the
    normal probability of staying below the EWMA's z.
    """
    p0 = baseline_rate(window, prior, params)
    if p0 is None:
        return None
    minimum = max(params.min_batch, 5 / p0)
    tau2 = extra_variance(pool_batches(window.baseline, minimum), p0)
    result = ewma_chart(pool_batches(window.monitored, minimum), p0, tau2, params.ewma_smoothing)
    if result is None:
        return None
    x_total, n_total = window.monitored_total
    return Finding(
        detector="ewma",
        metric=window.metric,
        labels=labels,
        anomalous=result.z > params.ewma_limit and result.value >= p0 * params.ewma_min_ratio,
        expected=p0,
        observed=result.value,
        confidence=NORMAL.cdf(result.z),
        window_start=window.start,
        window_end=window.end,
        denominator=n_total,
        detail={"numerator": x_total, "ewma_z": round(result.z, 3), "ewma_limit": params.ewma_limit},
    )


def baseline_rate(window: RateWindow, prior: BetaPrior | None, params: AnomalyParameters) -> float | None:
    """Return the baseline rate shrunk toward the fleet, or None when the data cannot support a judgement.

    None when the baseline has fewer than `min_baseline_volume` messages,
    the monitored window fewer than `min_volume`, or the rate is 0 even
    after shrinkage (nothing to compare a rise with).
    """
    x_base, n_base = window.baseline_total
    if n_base < params.min_baseline_volume or window.monitored_total[1] < params.min_volume:
        return None
    p0 = posterior(x_base, n_base, prior).mean
    if math.isnan(p0) or not 0 < p0 < 1:
        return None
    return p0


def weigh(x: int, n: int, p0: float, tau2: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 0.0
    factor = 1.0 / (1.0 + n * tau2 / (p0 * (1 - p0)))
    return x * factor, n * factor


def judge_volume(series: Sequence[HourPoint], labels: dict[str, str], at: datetime, params: AnomalyParameters) -> Finding | None:
    """Judge the last `volume_hours` mature hours' volumes against an hour-of-week baseline.

    The history of an hour is the same hour of week in each of the previous
    `volume_weeks` weeks. Neighbouring hours are left out, because at the
    edges of the working day they belong to another level. A drop is measured from
    the history's lower quartile, because campaign bursts in past weeks
    raise its median. The robust z divides by the scaled MAD floored at
    max(`volume_mad_floor`, `volume_relative_floor` * median), so a quiet
    night's few messages never make a drop look certain. Only drops are
    anomalous: surges are campaigns, which the rate detectors judge. The
    confidence is the normal probability of the largest (least extreme) z.
    """
    points = mature(series, at, params.volume_maturity)
    if len(points) < params.volume_hours:
        return None
    judged = points[-params.volume_hours :]
    # Zero rows before the group's first mail are no history of it.
    first_active = next((start for start, row in points if sent_volume(row) > 0), None)
    if first_active is None:
        return None
    zs: list[float] = []
    expected_total = observed_total = 0.0
    for start, row in judged:
        history = []
        weeks_seen = 0
        for week in range(1, params.volume_weeks + 1):
            moment = start - week * WEEK
            value = volume_at(points, moment) if moment >= first_active else None
            if value is not None:
                weeks_seen += 1
                history.append(value)
        summary = median_and_mad(history)
        if weeks_seen < params.volume_min_weeks or summary is None or len(history) < 2:
            return None
        median, spread = summary
        # The lower quartile, not the median: campaign bursts in past weeks raise the median of an hour.
        center = statistics.quantiles(history, n=4)[0]
        floor = max(params.volume_mad_floor, params.volume_relative_floor * median)
        observed = sent_volume(row)
        zs.append(robust_z(observed, center, spread, floor))
        expected_total += center
        observed_total += observed
    worst = max(zs)
    return Finding(
        detector="seasonal",
        metric="volume",
        labels=labels,
        anomalous=worst < -params.volume_z,
        expected=expected_total,
        observed=observed_total,
        confidence=NORMAL.cdf(-worst),
        window_start=judged[0][0],
        window_end=judged[-1][0] + HOUR,
        denominator=None,
        detail={"robust_z": round(worst, 3), "z_limit": params.volume_z},
    )


def volume_at(points: Sequence[HourPoint], moment: datetime) -> int | None:
    """Return the volume of the hour starting at `moment`, or None when the series has no such hour."""
    index = bisect_left(points, moment, key=start_of)
    if index < len(points) and points[index][0] == moment:
        return sent_volume(points[index][1])
    return None
