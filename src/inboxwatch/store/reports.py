"""Storing DMARC aggregate, DMARC failure and SMTP TLS reports, and the per-source DMARC summaries.

An aggregate or TLS report is identified by its reporter (organization name
and contact address) and the report id that reporter gave it. A failure
report has no report id and is identified by the failing message instead
(`failure_report_key`). Either way, storing the same report again changes
nothing.
"""

from __future__ import annotations

import dataclasses
import email.utils
import hashlib
from collections.abc import Iterable
from datetime import datetime, timezone

import sqlalchemy as sa

from inboxwatch.model.reports import AggregateReport, FailureReport, ReportTotals, TlsReport
from inboxwatch.store.db import as_utc
from inboxwatch.store.events import RECIPIENT_RETENTION, dialect_insert
from inboxwatch.store.schema import dmarc_failure_reports, dmarc_records, dmarc_reports, tls_policies, tls_reports


@dataclasses.dataclass
class ReportCounts:
    """Reports stored and reports skipped because they were stored before."""

    stored: int = 0
    duplicates: int = 0


def aggregate_report_key(report: AggregateReport) -> str:
    """Return the deduplication key of an aggregate report: reporter and report id."""
    return _key("dmarc", report.org_name, report.email, report.report_id)


def tls_report_key(report: TlsReport) -> str:
    return _key("tlsrpt", report.organization, None, report.report_id)


def failure_report_key(report: FailureReport) -> str:
    """Return the deduplication key of a failure report.

    The key covers the reported domain, source IP, arrival date, original
    Message-ID and the original envelope and header From, because together
    they identify one failing message as the receiver saw it. Domains and
    addresses are compared case-insensitively; the arrival date as written.
    """
    parts = (
        "dmarc-failure",
        failure_report_domain(report),
        (report.source_ip or "").strip(),
        (report.arrival_date or "").strip(),
        (report.original_message_id or "").strip(),
        (report.original_mail_from or "").strip().lower(),
        (report.original_from or "").strip().lower(),
    )
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def failure_report_domain(report: FailureReport) -> str:
    """Return the lower-cased Reported-Domain, or the domain of the original From when the reporter left it out."""
    if report.reported_domain:
        return report.reported_domain.strip().lower()
    _, address = email.utils.parseaddr(report.original_from or "")
    return address.rpartition("@")[2].strip().lower()


def _key(kind: str, organization: str | None, email: str | None, report_id: str) -> str:
    parts = (kind, (organization or "").strip().lower(), (email or "").strip().lower(), report_id.strip())
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def store_aggregate_reports(
    conn: sa.Connection,
    reports: Iterable[AggregateReport],
    *,
    tenant: str,
    ingest_id: int | None = None,
    now: datetime | None = None,
) -> ReportCounts:
    """Insert aggregate reports not stored yet, with their rows, in the caller's transaction."""
    received_at = now or datetime.now(timezone.utc)
    return _store_with_children(
        conn,
        ((_aggregate_values(report, tenant, ingest_id, received_at), report.rows) for report in reports),
        dmarc_reports,
        dmarc_records,
        _record_values,
    )


def store_tls_reports(
    conn: sa.Connection,
    reports: Iterable[TlsReport],
    *,
    tenant: str,
    ingest_id: int | None = None,
    now: datetime | None = None,
) -> ReportCounts:
    """Insert TLS reports not stored yet, with their policies, in the caller's transaction."""
    received_at = now or datetime.now(timezone.utc)
    return _store_with_children(
        conn,
        ((_tls_values(report, tenant, ingest_id, received_at), report.policies) for report in reports),
        tls_reports,
        tls_policies,
        _policy_values,
    )


def _store_with_children(conn, reports, parent_table, child_table, child_values) -> ReportCounts:
    """Insert each (report values, children) pair whose report is not stored yet, children only for new reports."""
    counts = ReportCounts()
    for values, children in reports:
        report_pk = _insert_once(conn, parent_table, values)
        if report_pk is None:
            counts.duplicates += 1
            continue
        counts.stored += 1
        if children:
            conn.execute(sa.insert(child_table), [child_values(report_pk, child) for child in children])
    return counts


def store_failure_reports(
    conn: sa.Connection,
    reports: Iterable[FailureReport],
    *,
    tenant: str,
    ingest_id: int | None = None,
    now: datetime | None = None,
    recipient_retention: str = "full",
) -> ReportCounts:
    """Insert failure reports not stored yet, in the caller's transaction.

    `recipient_retention` decides what is kept of the Original-Rcpt-To
    address, as for delivery events: "full" the address, "domain" only its
    domain, "none" neither.
    """
    if recipient_retention not in RECIPIENT_RETENTION:
        raise ValueError(
            "invalid recipient_retention %r: expected one of %s" % (recipient_retention, ", ".join(RECIPIENT_RETENTION))
        )
    received_at = as_utc(now or datetime.now(timezone.utc))
    counts = ReportCounts()
    for report in reports:
        values = _failure_values(report, tenant, ingest_id, received_at, recipient_retention)
        if _insert_once(conn, dmarc_failure_reports, values) is None:
            counts.duplicates += 1
        else:
            counts.stored += 1
    return counts


def _insert_once(conn: sa.Connection, table: sa.Table, values: dict) -> int | None:
    """Insert `values` unless its report_key is stored; return the new primary key, or None."""
    statement = (
        dialect_insert(conn, table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[table.c.report_key])
        .returning(table.c.id)
    )
    return conn.execute(statement).scalar()


def _aggregate_values(report: AggregateReport, tenant: str, ingest_id: int | None, received_at: datetime) -> dict:
    return {
        "report_key": aggregate_report_key(report),
        "tenant": tenant,
        "org_name": report.org_name,
        "email": report.email,
        "report_id": report.report_id,
        "policy_domain": (report.policy.domain or "").lower(),
        "begin_at": datetime.fromtimestamp(report.begin, tz=timezone.utc),
        "end_at": datetime.fromtimestamp(report.end, tz=timezone.utc),
        "policy": dataclasses.asdict(report.policy),
        "messages": report.messages,
        "warnings": list(report.warnings) or None,
        "received_at": as_utc(received_at),
        "ingest_id": ingest_id,
    }


def _failure_values(
    report: FailureReport, tenant: str, ingest_id: int | None, received_at: datetime, recipient_retention: str
) -> dict:
    stored_report = report.to_json()
    stored_report["original_rcpt_to"] = _retained_recipient(report.original_rcpt_to, recipient_retention)
    return {
        "report_key": failure_report_key(report),
        "tenant": tenant,
        "reported_domain": failure_report_domain(report),
        "source_ip": (report.source_ip or "").strip(),
        "arrival_date": report.arrival_date,
        "arrived_at": _arrival_time(report.arrival_date) or received_at,
        "original_message_id": report.original_message_id,
        "original_mail_from": report.original_mail_from,
        "original_from": report.original_from,
        "original_subject": report.original_subject,
        "auth_failure": report.auth_failure,
        "delivery_result": report.delivery_result,
        "report": stored_report,
        "received_at": received_at,
        "ingest_id": ingest_id,
    }


def _retained_recipient(address: str | None, recipient_retention: str) -> str | None:
    if address is None or recipient_retention == "full":
        return address
    if recipient_retention == "domain":
        _, parsed = email.utils.parseaddr(address)
        return parsed.rpartition("@")[2].lower() or None
    return None


def _arrival_time(arrival_date: str | None) -> datetime | None:
    """Read an RFC 5322 date-time, as Arrival-Date is written (RFC 5965 section 3.2); None when it cannot be read."""
    if not arrival_date:
        return None
    try:
        return as_utc(email.utils.parsedate_to_datetime(arrival_date))
    except (TypeError, ValueError, IndexError):
        return None


def _record_values(report_pk: int, row) -> dict:
    return {
        "dmarc_report_id": report_pk,
        "source_ip": row.source_ip or "",
        "messages": row.count,
        "disposition": row.disposition,
        "dkim": row.dkim,
        "spf": row.spf,
        "dmarc_pass": row.dmarc_pass,
        "header_from": row.header_from,
        "envelope_from": row.envelope_from,
        "envelope_to": row.envelope_to,
        "reasons": [dataclasses.asdict(reason) for reason in row.reasons] or None,
        "dkim_results": [dataclasses.asdict(result) for result in row.dkim_results] or None,
        "spf_results": [dataclasses.asdict(result) for result in row.spf_results] or None,
    }


def _tls_values(report: TlsReport, tenant: str, ingest_id: int | None, received_at: datetime) -> dict:
    return {
        "report_key": tls_report_key(report),
        "tenant": tenant,
        "organization": report.organization,
        "report_id": report.report_id,
        "begin_at": datetime.fromtimestamp(report.begin, tz=timezone.utc) if report.begin is not None else None,
        "end_at": datetime.fromtimestamp(report.end, tz=timezone.utc) if report.end is not None else None,
        "contact_info": report.contact_info,
        "total_successful": report.total_successful,
        "total_failed": report.total_failed,
        "warnings": list(report.warnings) or None,
        "received_at": as_utc(received_at),
        "ingest_id": ingest_id,
    }


def _policy_values(report_pk: int, policy) -> dict:
    return {
        "tls_report_id": report_pk,
        "policy_domain": (policy.domain or "").lower(),
        "policy_type": policy.type,
        "successful": policy.successful,
        "failed": policy.failed,
        "mx_hosts": list(policy.mx_hosts) or None,
        "policy_strings": list(policy.policy_strings) or None,
        "failure_details": [dataclasses.asdict(detail) for detail in policy.failure_details] or None,
    }


@dataclasses.dataclass(frozen=True)
class SourceSummary:
    """The stored aggregate report results for one sending IP and one domain.

    `dkim_pass` and `spf_pass` count messages whose DKIM or SPF result was
    aligned and passing; `dmarc_pass` those where either was.
    """

    source_ip: str
    messages: int
    dmarc_pass: int
    dkim_pass: int
    spf_pass: int
    quarantined: int
    rejected: int
    reporters: int

    @property
    def pass_rate(self) -> float:
        return self.dmarc_pass / self.messages if self.messages else 0.0


def dmarc_sources(
    conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None
) -> list[SourceSummary]:
    """Summarise, per source IP, the stored aggregate reports for `domain` whose range overlaps [start, end].

    A report counts whole when its date range overlaps the window, because
    reports give no time for individual messages. Sources are sorted by
    message count, largest first.
    """
    messages = dmarc_records.c.messages
    query = (
        sa.select(
            dmarc_records.c.source_ip,
            sa.func.sum(messages).label("messages"),
            sa.func.sum(sa.case((dmarc_records.c.dmarc_pass, messages), else_=0)).label("dmarc_pass"),
            sa.func.sum(sa.case((dmarc_records.c.dkim == "pass", messages), else_=0)).label("dkim_pass"),
            sa.func.sum(sa.case((dmarc_records.c.spf == "pass", messages), else_=0)).label("spf_pass"),
            sa.func.sum(sa.case((dmarc_records.c.disposition == "quarantine", messages), else_=0)).label("quarantined"),
            sa.func.sum(sa.case((dmarc_records.c.disposition == "reject", messages), else_=0)).label("rejected"),
            sa.func.count(sa.distinct(sa.func.coalesce(dmarc_reports.c.org_name, dmarc_reports.c.email))).label("reporters"),
        )
        .select_from(dmarc_records.join(dmarc_reports, dmarc_records.c.dmarc_report_id == dmarc_reports.c.id))
        .where(
            dmarc_reports.c.policy_domain == domain.lower(),
            dmarc_reports.c.end_at >= as_utc(start),
            dmarc_reports.c.begin_at <= as_utc(end),
        )
        .group_by(dmarc_records.c.source_ip)
    )
    if tenant is not None:
        query = query.where(dmarc_reports.c.tenant == tenant)
    summaries = [
        SourceSummary(
            source_ip=row.source_ip,
            messages=int(row.messages or 0),
            dmarc_pass=int(row.dmarc_pass or 0),
            dkim_pass=int(row.dkim_pass or 0),
            spf_pass=int(row.spf_pass or 0),
            quarantined=int(row.quarantined or 0),
            rejected=int(row.rejected or 0),
            reporters=int(row.reporters or 0),
        )
        for row in conn.execute(query)
    ]
    summaries.sort(key=lambda summary: (-summary.messages, summary.source_ip))
    return summaries


def dmarc_report_count(conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None) -> int:
    """Count the stored aggregate reports for `domain` whose range overlaps [start, end]."""
    query = sa.select(sa.func.count()).select_from(dmarc_reports).where(
        dmarc_reports.c.policy_domain == domain.lower(),
        dmarc_reports.c.end_at >= as_utc(start),
        dmarc_reports.c.begin_at <= as_utc(end),
    )
    if tenant is not None:
        query = query.where(dmarc_reports.c.tenant == tenant)
    return int(conn.execute(query).scalar() or 0)


def dmarc_report_totals(
    conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None
) -> list[ReportTotals]:
    """Return each stored aggregate report for `domain` overlapping [start, end] with its message and pass counts."""
    messages = dmarc_records.c.messages
    query = (
        sa.select(
            dmarc_reports.c.begin_at,
            dmarc_reports.c.end_at,
            sa.func.sum(messages).label("messages"),
            sa.func.sum(sa.case((dmarc_records.c.dmarc_pass, messages), else_=0)).label("dmarc_pass"),
        )
        .select_from(dmarc_records.join(dmarc_reports, dmarc_records.c.dmarc_report_id == dmarc_reports.c.id))
        .where(
            dmarc_reports.c.policy_domain == domain.lower(),
            dmarc_reports.c.end_at >= as_utc(start),
            dmarc_reports.c.begin_at <= as_utc(end),
        )
        .group_by(dmarc_reports.c.id, dmarc_reports.c.begin_at, dmarc_reports.c.end_at)
    )
    if tenant is not None:
        query = query.where(dmarc_reports.c.tenant == tenant)
    return [
        ReportTotals(
            begin=int(as_utc(row.begin_at).timestamp()),
            end=int(as_utc(row.end_at).timestamp()),
            messages=int(row.messages or 0),
            dmarc_pass=int(row.dmarc_pass or 0),
        )
        for row in conn.execute(query)
    ]


@dataclasses.dataclass(frozen=True)
class FailureSource:
    """The stored failure reports for one sending IP and one domain, with the most recent one as a sample."""

    source_ip: str
    reports: int
    latest_at: datetime
    latest_from: str | None
    latest_mail_from: str | None
    latest_message_id: str | None
    latest_subject: str | None
    latest_auth_failure: str | None


def dmarc_failure_sources(
    conn: sa.Connection, domain: str, start: datetime, end: datetime, tenant: str | None = None
) -> list[FailureSource]:
    """Count, per source IP, the stored failure reports for `domain` that arrived in [start, end].

    Each source carries its latest report (by arrival time, then by storage
    order) as a sample. Sources are sorted by report count, largest first.
    """
    table = dmarc_failure_reports
    conditions = [
        table.c.reported_domain == domain.lower(),
        table.c.arrived_at >= as_utc(start),
        table.c.arrived_at <= as_utc(end),
    ]
    if tenant is not None:
        conditions.append(table.c.tenant == tenant)
    ranked = (
        sa.select(
            table,
            sa.func.count().over(partition_by=table.c.source_ip).label("reports"),
            sa.func.row_number()
            .over(partition_by=table.c.source_ip, order_by=(table.c.arrived_at.desc(), table.c.id.desc()))
            .label("rank"),
        )
        .where(*conditions)
        .subquery()
    )
    rows = conn.execute(sa.select(ranked).where(ranked.c.rank == 1))
    sources = [
        FailureSource(
            source_ip=row.source_ip,
            reports=int(row.reports),
            latest_at=as_utc(row.arrived_at),
            latest_from=row.original_from,
            latest_mail_from=row.original_mail_from,
            latest_message_id=row.original_message_id,
            latest_subject=row.original_subject,
            latest_auth_failure=row.auth_failure,
        )
        for row in rows
    ]
    sources.sort(key=lambda source: (-source.reports, source.source_ip))
    return sources
