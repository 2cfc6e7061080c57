"""The Bernoulli CUSUM for a rate that should stay at p0 and might shift to p1.

Each message is a Bernoulli trial (complained or not). The statistic adds
the log-likelihood ratio of p1 against p0 for every batch and never goes
below zero: S_t = max(0, S_{t-1} + x_t ln(p1/p0) + (n_t - x_t) ln((1-p1)/(1-p0))),
with x_t complaints out of n_t delivered messages (Reynolds and Stoumbos,
"A CUSUM Chart for Monitoring a Proportion When Inspecting Continuously",
Journal of Quality Technology 31(1), 1999). It alarms when S exceeds h.
Because it accumulates evidence, it finds a slow creep that no single hour
shows, and a quiet hour with few messages moves it little.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class CusumResult:
    """The statistic after the last batch, and the counts since it last stood at zero."""

    statistic: float
    peak: float
    run_numerator: int
    run_denominator: int
    run_length: int


def bernoulli_cusum(batches: Sequence[tuple[int, int]], p0: float, p1: float) -> CusumResult:
    """Run the CUSUM over (numerator, denominator) batches in time order.

    `run_*` cover the batches since the statistic last stood at zero: the
    stretch whose evidence it holds. Raises ValueError unless 0 < p0 < p1 < 1.
    """
    if not 0 < p0 < p1 < 1:
        raise ValueError("invalid CUSUM rates p0=%r, p1=%r: expected 0 < p0 < p1 < 1" % (p0, p1))
    up = math.log(p1 / p0)
    down = math.log((1 - p1) / (1 - p0))
    statistic = peak = 0.0
    run_x = run_n = run_length = 0
    for x, n in batches:
        if n <= 0:
            continue
        statistic = max(0.0, statistic + x * up + (n - x) * down)
        if statistic == 0.0:
            run_x = run_n = run_length = 0
        else:
            run_x += x
            run_n += n
            run_length += 1
        peak = max(peak, statistic)
    return CusumResult(statistic, peak, run_x, run_n, run_length)
