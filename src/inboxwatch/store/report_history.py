"""Queries over stored DMARC and TLS reports for the report alerts and `inboxwatch report tls`.

Reports carry a date range rather than per-message times. The history
queries below place a report on the UTC day of its `end_at`, the last
moment it covers, and the window queries take every report whose range
overlaps the window.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import dmarc_records, dmarc_reports, tls_policies, tls_reports


@dataclasses.dataclass(frozen=True)
class TlsTotals:
    """One TLS report's sessions for one policy domain, with the report's range in Unix seconds."""

    begin: int
    end: int
    successful: int
    failed: int


@dataclasses.dataclass(frozen=True)
class TlsPolicySummary:
    """One reporter's sessions for one policy type of a domain, over a window."""

    organization: str
    policy_type: str
    reports: int
    successful: int
    failed: int

    @property
    def failure_rate(self) -> float:
        total = self.successful + self.failed
        return self.failed / total if total else 0.0


def _with_tenant(query: sa.Select, column: sa.Column, tenant: str | None) -> sa.Select:
    return query if tenant is None else query.where(column == tenant)


def dmarc_domains(conn: sa.Connection, start: datetime, end: datetime, tenant: str | None = None) -> list[str]:
    """Return the policy domains of aggregate reports ending within [start, end], sorted."""
    query = sa.select(dmarc_reports.c.policy_domain).distinct().where(
        dmarc_reports.c.end_at >= as_utc(start), dmarc_reports.c.end_at <= as_utc(end), dmarc_reports.c.policy_domain != ""
    )
    return sorted(row[0] for row in conn.execute(_with_tenant(query, dmarc_reports.c.tenant, tenant)))


def dmarc_report_days(conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None) -> set[date]:
    """Return the UTC days on which aggregate reports for `domain` ended, within [start, end]."""
    query = sa.select(dmarc_reports.c.end_at).where(
        dmarc_reports.c.policy_domain == domain.lower(),
        dmarc_reports.c.end_at >= as_utc(start),
        dmarc_reports.c.end_at <= as_utc(end),
    )
    return {as_utc(row.end_at).date() for row in conn.execute(_with_tenant(query, dmarc_reports.c.tenant, tenant))}


def dmarc_source_first_seen(
    conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None
) -> dict[str, datetime]:
    """Return, per source IP, the earliest end of an aggregate report for `domain` within [start, end] naming it."""
    query = (
        sa.select(dmarc_records.c.source_ip, sa.func.min(dmarc_reports.c.end_at).label("first_seen"))
        .select_from(dmarc_records.join(dmarc_reports, dmarc_records.c.dmarc_report_id == dmarc_reports.c.id))
        .where(
            dmarc_reports.c.policy_domain == domain.lower(),
            dmarc_reports.c.end_at >= as_utc(start),
            dmarc_reports.c.end_at <= as_utc(end),
        )
        .group_by(dmarc_records.c.source_ip)
    )
    query = _with_tenant(query, dmarc_reports.c.tenant, tenant)
    return {row.source_ip: as_utc(row.first_seen) for row in conn.execute(query)}


def tls_domains(conn: sa.Connection, start: datetime, end: datetime, tenant: str | None = None) -> list[str]:
    """Return the policy domains of TLS reports ending within [start, end], sorted."""
    query = (
        sa.select(tls_policies.c.policy_domain).distinct()
        .select_from(tls_policies.join(tls_reports, tls_policies.c.tls_report_id == tls_reports.c.id))
        .where(tls_reports.c.end_at >= as_utc(start), tls_reports.c.end_at <= as_utc(end), tls_policies.c.policy_domain != "")
    )
    return sorted(row[0] for row in conn.execute(_with_tenant(query, tls_reports.c.tenant, tenant)))


def _tls_window(query: sa.Select, domain: str, start: datetime, end: datetime, tenant: str | None) -> sa.Select:
    query = query.where(
        tls_policies.c.policy_domain == domain.lower(),
        tls_reports.c.end_at >= as_utc(start),
        tls_reports.c.begin_at <= as_utc(end),
    )
    return _with_tenant(query, tls_reports.c.tenant, tenant)


def tls_domain_totals(conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None) -> list[TlsTotals]:
    """Return each TLS report for `domain` overlapping [start, end] with its sessions for that domain.

    A report that lists the same sessions under several policies of one
    domain (sts and tlsa) counts them once: the largest counts among its
    policies, as `TlsReport.sessions_by_domain` does.
    """
    query = (
        sa.select(
            tls_reports.c.begin_at,
            tls_reports.c.end_at,
            sa.func.max(tls_policies.c.successful).label("successful"),
            sa.func.max(tls_policies.c.failed).label("failed"),
        )
        .select_from(tls_policies.join(tls_reports, tls_policies.c.tls_report_id == tls_reports.c.id))
        .group_by(tls_reports.c.id, tls_reports.c.begin_at, tls_reports.c.end_at)
    )
    totals = []
    for row in conn.execute(_tls_window(query, domain, start, end, tenant)):
        if row.begin_at is None or row.end_at is None:
            continue
        totals.append(
            TlsTotals(
                begin=int(as_utc(row.begin_at).timestamp()),
                end=int(as_utc(row.end_at).timestamp()),
                successful=int(row.successful or 0),
                failed=int(row.failed or 0),
            )
        )
    return totals


def tls_policy_summaries(
    conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None
) -> list[TlsPolicySummary]:
    """Summarise the TLS reports for `domain` overlapping [start, end] per reporter and policy type, most failures first."""
    query = (
        sa.select(
            tls_reports.c.organization,
            tls_policies.c.policy_type,
            sa.func.count(sa.distinct(tls_reports.c.id)).label("reports"),
            sa.func.sum(tls_policies.c.successful).label("successful"),
            sa.func.sum(tls_policies.c.failed).label("failed"),
        )
        .select_from(tls_policies.join(tls_reports, tls_policies.c.tls_report_id == tls_reports.c.id))
        .group_by(tls_reports.c.organization, tls_policies.c.policy_type)
    )
    summaries = [
        TlsPolicySummary(
            row.organization or "", row.policy_type or "", int(row.reports), int(row.successful or 0), int(row.failed or 0)
        )
        for row in conn.execute(_tls_window(query, domain, start, end, tenant))
    ]
    summaries.sort(key=lambda summary: (-summary.failed, summary.organization, summary.policy_type))
    return summaries


def tls_failure_details(
    conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None
) -> list[dict]:
    """Return the `failure-details` entries of the TLS reports for `domain` overlapping [start, end], as stored."""
    query = (
        sa.select(tls_policies.c.failure_details)
        .select_from(tls_policies.join(tls_reports, tls_policies.c.tls_report_id == tls_reports.c.id))
        .where(tls_policies.c.failed > 0)
    )
    details = []
    for row in conn.execute(_tls_window(query, domain, start, end, tenant)):
        details.extend(row.failure_details or [])
    return details
