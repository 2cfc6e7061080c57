"""The tuning of the anomaly detectors, as plain frozen data the configuration fills in."""

from __future__ import annotations

import dataclasses
from datetime import timedelta


@dataclasses.dataclass(frozen=True)
class AnomalyParameters:
    """Detector settings; the defaults are the values the bench in `bench/anomaly_bench.py` was scored with.

    Maturities: a cohort hour is judged only once this long has passed since
    its end, because bounces (asynchronous DSNs) and complaints (feedback
    loop reports) arrive after the messages. The defaults are estimates of
    how late most of them arrive, not measurements; raise them for sources
    that batch their reports.
    """

    baseline: timedelta = timedelta(days=14)
    # A group with a shorter history is not judged, because a few hours tell nothing of what is normal.
    min_baseline: timedelta = timedelta(days=3)
    monitor: timedelta = timedelta(hours=24)
    # Bernoulli CUSUM on complaint rates: the shift to detect (p1 = p0 * shift) and the alarm level in nats.
    complaint_shift: float = 3.0
    complaint_h: float = 10.0
    complaint_maturity: timedelta = timedelta(hours=6)
    # EWMA on bounce and deferral rates: smoothing, alarm limit in standard deviations, minimum ratio to baseline.
    ewma_smoothing: float = 0.3
    ewma_limit: float = 4.0
    ewma_min_ratio: float = 1.5
    # Smallest batch the EWMA judges; quieter hours are pooled until they reach it (or 5 expected events).
    min_batch: int = 200
    bounce_maturity: timedelta = timedelta(hours=1)
    deferral_maturity: timedelta = timedelta(0)
    # Seasonal volume: weeks of history per hour of week, robust z limit, MAD floors, consecutive hours.
    volume_weeks: int = 4
    volume_min_weeks: int = 2
    volume_z: float = 4.0
    volume_mad_floor: float = 50.0
    volume_relative_floor: float = 0.15
    volume_hours: int = 2
    volume_maturity: timedelta = timedelta(hours=1)
    # Smallest denominators that are judged at all: baseline and monitored window.
    min_baseline_volume: int = 1000
    min_volume: int = 200
    # Weight in messages of the fleet prior when there are too few streams to fit it.
    prior_strength: float = 2000.0
