"""Deliverability rates computed from outcome counts, each with its denominator.

Pure functions: no I/O. The definitions are documented in docs/metrics.md.
"""

from __future__ import annotations

import dataclasses
import math

from inboxwatch.store.metrics import CountRow, sent_volume

RATE_NAMES = ("delivery_rate", "bounce_rate", "hard_bounce_rate", "deferral_rate", "complaint_rate")


@dataclasses.dataclass(frozen=True)
class Rate:
    """A proportion `numerator / denominator` with its counts kept, so rules can demand a minimum volume."""

    name: str
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """The proportion, or None when the denominator is 0."""
        if self.denominator == 0:
            return None
        return self.numerator / self.denominator

    def wilson(self, z: float = 1.96) -> tuple[float, float]:
        """Return the Wilson score interval (lower, upper) for the proportion.

        z = 1.96 gives a 95% interval. Unlike the normal approximation, the
        interval stays within [0, 1] and is meaningful for small denominators
        and for proportions near 0, which is where bounce and complaint
        rates live (Wilson, JASA 22(158), 1927). With no data it is (0, 1).
        """
        n = self.denominator
        if n == 0:
            return (0.0, 1.0)
        p = min(max(self.numerator / n, 0.0), 1.0)
        z2 = z * z
        center = (p + z2 / (2 * n)) / (1 + z2 / n)
        half_width = (z / (1 + z2 / n)) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
        return (max(0.0, center - half_width), min(1.0, center + half_width))


def rates_for(row: CountRow) -> dict[str, Rate]:
    """Return the five rates of RATE_NAMES for one group's counts.

    Delivery, bounce and hard-bounce rates divide by `sent_volume(row)`:
    `sent`, or `delivered + bounced` when the window contains more outcomes
    than sends (the sends fell before the window, or the source reports
    none). The deferral rate divides by delivery attempts (delivered +
    deferred + bounced), and the complaint rate by delivered messages.
    """
    volume = sent_volume(row)
    attempts = row.delivered + row.deferred + row.bounced
    return {
        "delivery_rate": Rate("delivery_rate", row.delivered, volume),
        "bounce_rate": Rate("bounce_rate", row.bounced, volume),
        "hard_bounce_rate": Rate("hard_bounce_rate", row.hard_bounced, volume),
        "deferral_rate": Rate("deferral_rate", row.deferred, attempts),
        "complaint_rate": Rate("complaint_rate", row.complained, row.delivered),
    }
