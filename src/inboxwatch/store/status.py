"""Reads for the status views: the latest DNS check results, open blocklist listings and DMARC report domains."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import blocklist_listings, dmarc_reports, dns_check_results


def check_result(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a stored check result as a dict: tenant, kind, subject, check_name, status, detail and checked_at (UTC)."""
    result = {name: row[name] for name in ("tenant", "kind", "subject", "check_name", "status", "detail")}
    result["checked_at"] = as_utc(row["checked_at"])
    return result


def latest_check_results(conn: sa.Connection, tenant: str | None = None) -> list[dict[str, Any]]:
    """Return the newest result of each (tenant, kind, subject, check_name), sorted by those four.

    Each result has tenant, kind, subject, check_name, status, detail and checked_at.
    """
    table = dns_check_results.c
    group = (table.tenant, table.kind, table.subject, table.check_name)
    newest = sa.select(sa.func.max(table.id).label("id")).group_by(*group)
    if tenant is not None:
        newest = newest.where(table.tenant == tenant)
    # The largest id of a group is its newest row, because results are only ever appended.
    query = sa.select(dns_check_results).where(table.id.in_(newest.scalar_subquery())).order_by(*group)
    return [check_result(row) for row in conn.execute(query).mappings()]


def check_history(
    conn: sa.Connection,
    *,
    kind: str | None = None,
    subject: str | None = None,
    check_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Return stored check results matching the filters, newest first, as `latest_check_results` shapes them."""
    table = dns_check_results.c
    query = sa.select(dns_check_results).order_by(table.checked_at.desc(), table.id.desc()).limit(limit)
    for column, value in ((table.kind, kind), (table.subject, subject), (table.check_name, check_name), (table.tenant, tenant)):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(table.checked_at >= as_utc(since))
    if until is not None:
        query = query.where(table.checked_at < as_utc(until))
    return [check_result(row) for row in conn.execute(query).mappings()]


def open_listings(conn: sa.Connection, tenant: str | None = None) -> list[dict[str, Any]]:
    """Return the blocklist listing episodes that have no delisted_at, oldest first."""
    query = sa.select(blocklist_listings).where(blocklist_listings.c.delisted_at.is_(None))
    if tenant is not None:
        query = query.where(blocklist_listings.c.tenant == tenant)
    listings = []
    for row in conn.execute(query.order_by(blocklist_listings.c.first_detected_at)).mappings():
        listing = dict(row)
        listing["first_detected_at"] = as_utc(row["first_detected_at"])
        listing["last_checked_at"] = as_utc(row["last_checked_at"])
        listings.append(listing)
    return listings


@dataclasses.dataclass(frozen=True)
class ReportDomain:
    """A policy domain with the number of aggregate reports and messages reported for it."""

    domain: str
    reports: int
    messages: int


def dmarc_domains(conn: sa.Connection, start: datetime, end: datetime, tenant: str | None = None) -> list[ReportDomain]:
    """List the policy domains of aggregate reports whose range overlaps [start, end], most messages first."""
    query = (
        sa.select(
            dmarc_reports.c.policy_domain,
            sa.func.count().label("reports"),
            sa.func.coalesce(sa.func.sum(dmarc_reports.c.messages), 0).label("messages"),
        )
        .where(dmarc_reports.c.end_at >= as_utc(start), dmarc_reports.c.begin_at <= as_utc(end))
        .group_by(dmarc_reports.c.policy_domain)
    )
    if tenant is not None:
        query = query.where(dmarc_reports.c.tenant == tenant)
    domains = [ReportDomain(row.policy_domain, int(row.reports), int(row.messages)) for row in conn.execute(query)]
    domains.sort(key=lambda item: (-item.messages, item.domain))
    return domains
