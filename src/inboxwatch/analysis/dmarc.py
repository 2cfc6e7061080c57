"""DMARC pass rates per domain and day, and the signal for a pass rate that is too low.

Pure: no I/O and no clock. Aggregate reports give counts for a date range,
not per message, so each report's counts are spread over the UTC days its
range covers in proportion to the seconds covered (`spread_over_days`).
Daily figures are therefore fractions. They are rounded only for display.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime

from inboxwatch.model.alerts import Severity, Signal
from inboxwatch.model.reports import ReportTotals, spread_over_days

DMARC_PASS_RATE_RULE = "dmarc_pass_rate"


@dataclasses.dataclass(frozen=True)
class DailyDmarc:
    """One domain's messages and DMARC passes on one UTC day, as spread from the reports."""

    day: date
    messages: float
    dmarc_pass: float

    @property
    def pass_rate(self) -> float | None:
        return self.dmarc_pass / self.messages if self.messages else None


def daily_pass_rates(reports: Iterable[ReportTotals]) -> list[DailyDmarc]:
    """Add up the reports' messages and passes per UTC day, oldest day first."""
    messages: dict[date, float] = {}
    passes: dict[date, float] = {}
    for report in reports:
        for day, share in spread_over_days(report.begin, report.end, report.messages):
            messages[day] = messages.get(day, 0.0) + share
        for day, share in spread_over_days(report.begin, report.end, report.dmarc_pass):
            passes[day] = passes.get(day, 0.0) + share
    return [DailyDmarc(day, messages[day], passes.get(day, 0.0)) for day in sorted(messages)]


def pass_rate_signal(
    domain: str,
    day: DailyDmarc,
    *,
    threshold: float,
    min_volume: int,
    time: datetime,
    tenant: str = "default",
    severity: Severity = Severity.WARNING,
) -> Signal | None:
    """Judge one day's DMARC pass rate for `domain` against `threshold` (a fraction).

    Returns None when the day has fewer than `min_volume` messages, because
    a rate over a handful of messages is noise and must raise no alert.
    """
    if day.messages < min_volume:
        return None
    rate = day.dmarc_pass / day.messages
    breached = rate < threshold
    summary = "%s: %.1f%% of %d messages passed DMARC on %s (threshold %.1f%%)" % (
        domain,
        100.0 * rate,
        round(day.messages),
        day.day.isoformat(),
        100.0 * threshold,
    )
    return Signal(
        rule=DMARC_PASS_RATE_RULE,
        severity=severity,
        labels={"tenant": tenant, "domain": domain},
        breached=breached,
        time=time,
        value=rate,
        threshold=threshold,
        denominator=round(day.messages),
        summary=summary,
        annotations={"day": day.day.isoformat()},
    )
