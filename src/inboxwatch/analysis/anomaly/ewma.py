"""An EWMA chart for a rate whose batches have different denominators.

z_t = lambda * p_t + (1 - lambda) * z_{t-1}, started at the baseline p0. The
variance of z is carried along exactly: V_t = lambda^2 s_t^2 + (1 - lambda)^2
V_{t-1}, where s_t^2 = p0 (1 - p0) / n_t + tau^2 is the variance of one
batch's rate. tau^2 is the extra spread between batches that binomial noise
does not explain (a beta-binomial view: different campaigns and lists have
different true rates), estimated from the baseline. Without it, a sender
with 50,000 messages an hour would get limits so tight that every campaign
alarms. The chart alarms when z exceeds p0 + L * sqrt(V) (Lucas and
Saccucci, "Exponentially Weighted Moving Average Control Schemes",
Technometrics 32(1), 1990).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class EwmaResult:
    """The EWMA after the last batch, its standard deviation, and how many standard deviations it is above p0."""

    value: float
    sd: float
    z: float


def ewma_chart(batches: Sequence[tuple[int, int]], p0: float, tau2: float, smoothing: float) -> EwmaResult | None:
    """Run the chart over (numerator, denominator) batches; None when no batch had a denominator."""
    if not 0 < smoothing <= 1:
        raise ValueError("invalid EWMA smoothing %r: expected 0 < smoothing <= 1" % smoothing)
    value = p0
    variance = 0.0
    seen = False
    for x, n in batches:
        if n <= 0:
            continue
        seen = True
        batch_variance = p0 * (1 - p0) / n + tau2
        value = smoothing * (x / n) + (1 - smoothing) * value
        variance = smoothing * smoothing * batch_variance + (1 - smoothing) ** 2 * variance
    if not seen:
        return None
    sd = math.sqrt(variance)
    z = (value - p0) / sd if sd > 0 else 0.0
    return EwmaResult(value, sd, z)


def extra_variance(batches: Sequence[tuple[int, int]], p0: float) -> float:
    """Estimate tau^2, the variance of batch rates beyond binomial noise; never below 0.

    The estimator weighs each batch by its denominator, so a quiet night's
    hour with 7 messages does not drown the signal of the busy hours:
    with S = sum n_i (r_i - p)^2, N = sum n_i and k batches,
    E[S] = p (1 - p) ((k - 1) + rho (N - sum n_i^2 / N)), which gives the
    intra-class correlation rho and tau^2 = rho p (1 - p) (the beta-binomial
    moment estimator of Kleinman, "Proportions with Extraneous Variance",
    JASA 68(341), 1973).
    """
    used = [(x, n) for x, n in batches if n > 0]
    if len(used) < 2 or not 0 < p0 < 1:
        return 0.0
    total = sum(n for _, n in used)
    pooled = sum(x for x, _ in used) / total
    spread = sum(n * (x / n - pooled) ** 2 for x, n in used)
    effective = total - sum(n * n for _, n in used) / total
    if effective <= 0:
        return 0.0
    rho = (spread / (p0 * (1 - p0)) - (len(used) - 1)) / effective
    return max(rho, 0.0) * p0 * (1 - p0)


def pool_batches(batches: Sequence[tuple[int, int]], minimum: float) -> list[tuple[int, int]]:
    """Merge consecutive batches until each has a denominator of at least `minimum`.

    The chart's limits assume a batch rate is roughly normal, which needs
    about 5 expected events per batch. Without pooling, a quiet night's hour
    with 7 messages and 1 bounce would look like a 14% bounce rate. An incomplete
    last group is left out until later batches fill it.
    """
    pooled = []
    x_sum = n_sum = 0
    for x, n in batches:
        x_sum += x
        n_sum += n
        if n_sum >= minimum and n_sum > 0:
            pooled.append((x_sum, n_sum))
            x_sum = n_sum = 0
    return pooled
