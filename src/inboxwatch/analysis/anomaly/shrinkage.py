"""Empirical-Bayes shrinkage of rates toward the fleet, with beta-binomial priors.

A stream that sent 40 messages and got 2 bounces has a raw bounce rate of 5%,
but that figure says little. Treating each stream's true rate as drawn from a
Beta prior fitted to the whole fleet (all providers, IPs or domains of the
tenant) and taking the posterior mean pulls small streams toward the fleet
rate and leaves large ones where they are (Efron and Morris, "Data Analysis
Using Stein's Estimator and its Generalizations", JASA 70(350), 1975).
The prior is fitted by the method of moments over the streams' rates;
with too few streams to fit, a fixed prior strength is used.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

# Streams needed before the spread of their rates says anything about the prior.
MIN_STREAMS_TO_FIT = 5


@dataclasses.dataclass(frozen=True)
class BetaPrior:
    """A Beta(alpha, beta) prior on a rate; `alpha + beta` is its weight in pseudo-messages."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        return self.alpha + self.beta


@dataclasses.dataclass(frozen=True)
class Posterior:
    """The Beta posterior of one stream's rate: mean and standard deviation."""

    mean: float
    sd: float
    numerator: int
    denominator: int


def prior_from_mean(mean: float, strength: float) -> BetaPrior:
    """Build a prior centred on `mean` worth `strength` pseudo-messages."""
    mean = min(max(mean, 1e-9), 1 - 1e-9)
    return BetaPrior(mean * strength, (1 - mean) * strength)


def fit_prior(counts: Sequence[tuple[int, int]], default_strength: float) -> BetaPrior | None:
    """Fit a Beta prior to (numerator, denominator) pairs of the fleet's streams.

    The mean is the pooled rate. The strength comes from the method of
    moments: the variance of the streams' rates beyond what binomial noise
    explains. When there are fewer than MIN_STREAMS_TO_FIT streams, or the
    rates vary no more than noise would make them, `default_strength` is
    used. Returns None when the fleet has no volume at all.
    """
    used = [(x, n) for x, n in counts if n > 0]
    total = sum(n for _, n in used)
    if total == 0:
        return None
    mean = sum(x for x, _ in used) / total
    strength = default_strength
    if len(used) >= MIN_STREAMS_TO_FIT and 0 < mean < 1:
        rates = [x / n for x, n in used]
        observed = statistics.pvariance(rates)
        noise = statistics.fmean(mean * (1 - mean) / n for _, n in used)
        between = observed - noise
        if between > 0:
            # Var(p) = m(1-m)/(alpha+beta+1) for a Beta prior.
            strength = max(mean * (1 - mean) / between - 1, 1.0)
    return prior_from_mean(mean, strength)


def posterior(numerator: int, denominator: int, prior: BetaPrior | None) -> Posterior:
    """Return the posterior of a stream's rate; without a prior, the raw rate with its binomial error."""
    if prior is None:
        if denominator == 0:
            return Posterior(math.nan, math.nan, numerator, denominator)
        rate = numerator / denominator
        return Posterior(rate, math.sqrt(rate * (1 - rate) / denominator), numerator, denominator)
    alpha = prior.alpha + numerator
    beta = prior.beta + denominator - numerator
    total = alpha + beta
    mean = alpha / total
    sd = math.sqrt(alpha * beta / (total * total * (total + 1)))
    return Posterior(mean, sd, numerator, denominator)
