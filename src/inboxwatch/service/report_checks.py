"""The scheduled DMARC and TLS report checks: read stored reports, judge them, update alerts.

A cycle reads what it needs in one read-only connection, does the DNS work
for sender identities outside any transaction, then applies the signals to
the alerts in one transaction, as `service.evaluate` does for the threshold
rules. `inboxwatch run` runs a cycle every `[dmarc] check_interval`, and
`inboxwatch report check` runs one on demand.

The rules:

- `dmarc_pass_rate`: a domain's DMARC pass rate on its latest complete day
  is under `pass_rate_threshold`, with at least `min_volume` messages;
- `dmarc_new_source`: a source first reported within the last day sent at
  least `new_source_min_failing` messages failing DMARC. It resolves once
  the source is a day old, because it is then no longer new;
- `dmarc_reports_missing`: no report for more than `missing_after_days`
  days for a domain with reports on `missing_min_history_days` days or more;
- `tlsrpt_failure_rate`: a policy domain's TLS failure rate on its latest
  complete day is over `failure_rate_threshold`, with `min_sessions`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from inboxwatch.alerting.engine import AppliedOutcome, apply_signals
from inboxwatch.analysis.dmarc import daily_pass_rates, latest_complete_day, missing_reports_signal, pass_rate_signal
from inboxwatch.analysis.dmarc_sources import DMARC_NEW_SOURCE_RULE, clear_resolved, new_source_signals
from inboxwatch.analysis.senders import SenderIdentity
from inboxwatch.analysis.tlsrpt import daily_sessions, latest_complete_tls_day, tls_failure_signal
from inboxwatch.config.models import Config
from inboxwatch.errors import CheckError
from inboxwatch.model.alerts import Signal
from inboxwatch.model.reports import ReportTotals
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.service.job_leases import JobLease
from inboxwatch.service.senders import SenderDirectory
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.report_history import (
    TlsTotals,
    dmarc_domains,
    dmarc_report_days,
    dmarc_source_first_seen,
    tls_domain_totals,
    tls_domains,
)
from inboxwatch.store.reports import SourceSummary, dmarc_report_totals, dmarc_sources

log = logging.getLogger(__name__)

# Reports read for the daily figures: today, and the two days that
# `latest_complete_day` may judge, plus a day for ranges crossing midnight.
DAILY_WINDOW = timedelta(days=4)

# How long a source counts as new after its first report.
NEW_SOURCE_WINDOW = timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class DomainReports:
    """The stored aggregate report figures of one domain, as read for one check."""

    domain: str
    totals: list[ReportTotals]
    recent_sources: list[SourceSummary]
    first_seen: dict[str, datetime]
    report_days: set[date]


@dataclasses.dataclass(frozen=True)
class ReportCheckSummary:
    """The result of one check cycle: the signals judged, the alerts that changed and the outbox rows written."""

    at: datetime
    signals: tuple[Signal, ...]
    outcomes: tuple[AppliedOutcome, ...]
    notifications: int = 0


def history_start(config: Config, now: datetime) -> datetime:
    """Return the start of the lookback: long enough for both new-source and missing-report history."""
    dmarc = config.dmarc
    needed = timedelta(days=dmarc.missing_min_history_days + dmarc.missing_after_days + 1)
    return now - max(dmarc.new_source_lookback, needed)


def read_domain_reports(conn: sa.Connection, config: Config, domain: str, now: datetime) -> DomainReports:
    tenant = config.tenant
    start = history_start(config, now)
    return DomainReports(
        domain=domain,
        totals=dmarc_report_totals(conn, domain, now - DAILY_WINDOW, now, tenant),
        recent_sources=dmarc_sources(conn, domain, now - NEW_SOURCE_WINDOW, now, tenant),
        first_seen=dmarc_source_first_seen(conn, domain, start, now, tenant),
        report_days=dmarc_report_days(conn, domain, start, now, tenant),
    )


def dmarc_signals(reports: DomainReports, config: Config, now: datetime, identities: dict[str, SenderIdentity]) -> list[Signal]:
    """Judge one domain's pass rate, new sources and report arrivals."""
    dmarc = config.dmarc
    tenant = config.tenant
    signals: list[Signal] = []
    day = latest_complete_day(daily_pass_rates(reports.totals), now.date())
    if day is not None:
        signal = pass_rate_signal(
            reports.domain, day, threshold=dmarc.pass_rate_threshold, min_volume=dmarc.min_volume, time=now, tenant=tenant
        )
        if signal is not None:
            signals.append(signal)
    signals.extend(
        new_source_signals(
            reports.domain,
            reports.recent_sources,
            reports.first_seen,
            window_start=now - NEW_SOURCE_WINDOW,
            identify=lambda ip: identities.get(ip, SenderIdentity(False)),
            min_failing=dmarc.new_source_min_failing,
            time=now,
            tenant=tenant,
        )
    )
    missing = missing_reports_signal(
        reports.domain,
        reports.report_days,
        today=now.date(),
        missing_after_days=dmarc.missing_after_days,
        min_history_days=dmarc.missing_min_history_days,
        time=now,
        tenant=tenant,
    )
    if missing is not None:
        signals.append(missing)
    return signals


def tls_signals(domain: str, totals: list[TlsTotals], config: Config, now: datetime) -> list[Signal]:
    day = latest_complete_tls_day(daily_sessions(totals), now.date())
    if day is None:
        return []
    signal = tls_failure_signal(
        domain,
        day,
        threshold=config.tlsrpt.failure_rate_threshold,
        min_sessions=config.tlsrpt.min_sessions,
        time=now,
        tenant=config.tenant,
    )
    return [signal] if signal is not None else []


def new_source_candidates(reports: DomainReports, config: Config, now: datetime) -> set[str]:
    """Return the IPs that may raise `dmarc_new_source`, the only ones whose identity needs DNS."""
    window_start = now - NEW_SOURCE_WINDOW
    return {
        source.source_ip
        for source in reports.recent_sources
        if reports.first_seen.get(source.source_ip, window_start) >= window_start
        and source.messages - source.dmarc_pass >= config.dmarc.new_source_min_failing
    }


def run_report_checks(
    engine: sa.Engine, config: Config, now: datetime, directory: SenderDirectory, *, notify: bool = True
) -> ReportCheckSummary:
    """Run one cycle of the report checks at `now` and apply their signals to the alerts."""
    now = now.astimezone(timezone.utc)
    tenant = config.tenant
    with engine.connect() as conn:
        domains = sorted(set(config.sender.domains) | set(dmarc_domains(conn, history_start(config, now), now, tenant)))
        domain_reports = [read_domain_reports(conn, config, domain, now) for domain in domains]
        tls_names = sorted(set(config.sender.domains) | set(tls_domains(conn, now - DAILY_WINDOW, now, tenant)))
        tls_totals = {domain: tls_domain_totals(conn, domain, now - DAILY_WINDOW, now, tenant) for domain in tls_names}

    candidates = set().union(*(new_source_candidates(reports, config, now) for reports in domain_reports))
    identities = directory.identify_all(candidates) if candidates else {}

    signals: list[Signal] = []
    for reports in domain_reports:
        signals.extend(dmarc_signals(reports, config, now, identities))
    for domain, totals in tls_totals.items():
        signals.extend(tls_signals(domain, totals, config, now))

    policy = alert_policy(config, notify=notify)
    with engine.begin() as conn:
        open_alerts = list(alert_store.open_alerts(conn, tenant).values())
        breached = [signal for signal in signals if signal.rule == DMARC_NEW_SOURCE_RULE]
        signals.extend(clear_resolved(open_alerts, DMARC_NEW_SOURCE_RULE, breached, {"tenant": tenant}, now))
        result = apply_signals(conn, signals, now=now, policy=policy)

    log.info(
        "report checks at %s: %d DMARC domains, %d TLS domains, %d signals, %d breached",
        now.isoformat(),
        len(domains),
        len(tls_names),
        len(signals),
        sum(1 for signal in signals if signal.breached),
    )
    return ReportCheckSummary(now, tuple(signals), result.outcomes, result.notifications)


def run_report_checks_loop(
    engine: sa.Engine, config: Config, stop: threading.Event, clock: Callable[[], datetime], *, lease: JobLease | None = None
) -> None:
    """Run the report checks every `[dmarc] check_interval` until `stop` is set; errors are logged and retried.

    With a `lease`, a cycle runs only while this process holds it.
    """
    directory = SenderDirectory(config.dmarc)
    interval = config.dmarc.check_interval.total_seconds()
    while not stop.is_set():
        if lease is not None and not lease.acquire(clock()):
            stop.wait(interval)
            continue
        try:
            run_report_checks(engine, config, clock(), directory)
        except sa.exc.SQLAlchemyError as exc:
            log.error("report checks failed: %s; retrying in %.0f s", exc, interval)
        except CheckError as exc:
            log.error("report checks could not look up sender identities: %s; retrying in %.0f s", exc, interval)
        stop.wait(interval)
