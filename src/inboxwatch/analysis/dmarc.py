"""DMARC pass rates per domain and day, and the signals for a low pass rate and for missing reports.

Pure: no I/O and no clock. Aggregate reports give counts for a date range,
not per message, so each report's counts are spread over the UTC days its
range covers in proportion to the seconds covered (`spread_over_days`).
Daily figures are therefore fractions. They are rounded only for display.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from inboxwatch.model.alerts import Severity, Signal
from inboxwatch.model.reports import ReportTotals, spread_over_days

DMARC_PASS_RATE_RULE = "dmarc_pass_rate"
DMARC_REPORTS_MISSING_RULE = "dmarc_reports_missing"


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


def latest_complete_day(days: Iterable[DailyDmarc], today: date, max_age_days: int = 2) -> DailyDmarc | None:
    """Return the most recent day before `today` that has messages, at most `max_age_days` back.

    Today is never judged, because its reports arrive tomorrow. Receivers
    send a day's report during the next day, so yesterday may still be
    empty early in the morning, and the day before is judged instead.
    """
    earliest = today - timedelta(days=max_age_days)
    candidates = [day for day in days if earliest <= day.day < today and day.messages > 0]
    return max(candidates, key=lambda day: day.day, default=None)


def missing_reports_signal(
    domain: str,
    report_days: Iterable[date],
    *,
    today: date,
    missing_after_days: int,
    min_history_days: int,
    time: datetime,
    tenant: str = "default",
) -> Signal | None:
    """Judge whether aggregate reports for `domain` stopped arriving.

    `report_days` are the UTC days on which stored reports ended. The signal
    is breached when the latest of them is more than `missing_after_days`
    days before `today`, and only for a domain with reports on at least
    `min_history_days` days, since a domain that rarely gets reports proves
    nothing by their absence. Returns None when the history is too short.
    """
    days = set(report_days)
    if len(days) < min_history_days:
        return None
    last = max(days)
    silent_days = (today - last).days
    breached = silent_days > missing_after_days
    summary = "%s: last DMARC aggregate report ended on %s, %d days ago (alert after %d days; reports on %d days before)" % (
        domain,
        last.isoformat(),
        silent_days,
        missing_after_days,
        len(days),
    )
    return Signal(
        rule=DMARC_REPORTS_MISSING_RULE,
        severity=Severity.WARNING,
        labels={"tenant": tenant, "domain": domain},
        breached=breached,
        time=time,
        value=float(silent_days),
        threshold=float(missing_after_days),
        summary=summary,
        annotations={"last_report_day": last.isoformat(), "report_days": len(days)},
    )
