"""Robust location and scale: the median, the MAD and z-scores built on them.

The median absolute deviation is scaled by 1.4826 so that it estimates the
standard deviation of normal data (Rousseeuw and Croux, "Alternatives to the
Median Absolute Deviation", JASA 88(424), 1993). A series that barely moves
has a MAD near zero, which would turn any small change into a huge z-score,
so callers give a floor under the scale.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

# Makes the MAD a consistent estimator of the standard deviation under normality.
MAD_TO_SIGMA = 1.4826


def finite(values: Iterable[float | None]) -> list[float]:
    """Return the values that are real numbers, dropping None, NaN and infinities."""
    return [float(value) for value in values if value is not None and math.isfinite(value)]


def median_and_mad(values: Iterable[float | None]) -> tuple[float, float] | None:
    """Return (median, scaled MAD) of the finite values, or None when there are none."""
    points = finite(values)
    if not points:
        return None
    center = statistics.median(points)
    spread = statistics.median(abs(point - center) for point in points) * MAD_TO_SIGMA
    return center, spread


def robust_z(value: float, center: float, spread: float, floor: float) -> float:
    """Return (value - center) / max(spread, floor); `floor` must be above 0."""
    if floor <= 0:
        raise ValueError("invalid MAD floor %r: expected a value above 0" % floor)
    return (value - center) / max(spread, floor)
