"""SMTP TLS report sessions per policy domain and day, and the signal for too many failures.

Pure: no I/O and no clock. Like DMARC reports, TLS reports (RFC 8460
section 4.1) cover a date range, so each report's sessions are spread over
the UTC days it covers in proportion to the seconds covered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from inboxwatch.model.alerts import Severity, Signal
from inboxwatch.model.reports import spread_over_days
from inboxwatch.store.report_history import TlsTotals

TLS_FAILURE_RATE_RULE = "tlsrpt_failure_rate"


@dataclasses.dataclass(frozen=True)
class DailyTls:
    """One policy domain's TLS sessions on one UTC day, as spread from the reports."""

    day: date
    successful: float
    failed: float

    @property
    def sessions(self) -> float:
        return self.successful + self.failed

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.sessions if self.sessions else None


def daily_sessions(reports: Iterable[TlsTotals]) -> list[DailyTls]:
    """Add up the reports' successful and failed sessions per UTC day, oldest day first."""
    successful: dict[date, float] = {}
    failed: dict[date, float] = {}
    for report in reports:
        for day, share in spread_over_days(report.begin, report.end, report.successful):
            successful[day] = successful.get(day, 0.0) + share
        for day, share in spread_over_days(report.begin, report.end, report.failed):
            failed[day] = failed.get(day, 0.0) + share
    days = sorted(set(successful) | set(failed))
    return [DailyTls(day, successful.get(day, 0.0), failed.get(day, 0.0)) for day in days]


def latest_complete_tls_day(days: Iterable[DailyTls], today: date, max_age_days: int = 2) -> DailyTls | None:
    """Return the most recent day before `today` with sessions, at most `max_age_days` back."""
    earliest = today - timedelta(days=max_age_days)
    candidates = [day for day in days if earliest <= day.day < today and day.sessions > 0]
    return max(candidates, key=lambda day: day.day, default=None)


def tls_failure_signal(
    domain: str,
    day: DailyTls,
    *,
    threshold: float,
    min_sessions: int,
    time: datetime,
    tenant: str = "default",
) -> Signal | None:
    """Judge one day's TLS failure rate for policy domain `domain` against `threshold` (a fraction).

    Returns None under `min_sessions` sessions, so that a few failures on a
    quiet day raise no alert.
    """
    if day.sessions < min_sessions:
        return None
    rate = day.failed / day.sessions
    summary = "%s: %.1f%% of %d TLS sessions failed on %s (threshold %.1f%%)" % (
        domain,
        100.0 * rate,
        round(day.sessions),
        day.day.isoformat(),
        100.0 * threshold,
    )
    return Signal(
        rule=TLS_FAILURE_RATE_RULE,
        severity=Severity.WARNING,
        labels={"tenant": tenant, "domain": domain},
        breached=rate > threshold,
        time=time,
        value=rate,
        threshold=threshold,
        denominator=round(day.sessions),
        summary=summary,
        annotations={"day": day.day.isoformat()},
    )
