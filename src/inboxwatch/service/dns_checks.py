"""One cycle of scheduled DNS checks: run them, then store the results and apply their signals to the alerts.

The DNS work happens outside any transaction. The stored results, the
listing episodes or record states, and the alert changes made from the
signals then commit together, so a crash leaves neither a result without
its alert change nor the reverse.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.alerting.cycle import Policy
from inboxwatch.alerting.engine import AppliedOutcome, apply_signals
from inboxwatch.dnscheck.auth import AuthOptions, DomainReport, check_domain
from inboxwatch.dnscheck.blocklist_check import ListingResult, check_blocklists
from inboxwatch.dnscheck.blocklists import Blocklist
from inboxwatch.dnscheck.changes import AuthState, ListingObservation, ListingState, health_signals, track_auth, track_listing
from inboxwatch.dnscheck.dnsbl import Asset, applies
from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.model.alerts import Signal
from inboxwatch.store.dns_checks import insert_check_results, latest_check_detail, latest_listings, save_listing

AUTH_CHECK_NAME = "domain"


def observation(result: ListingResult) -> ListingObservation:
    return ListingObservation(result.asset.value, result.blocklist.name, result.status, result.codes, "; ".join(result.meanings), result.categories)


def state_from_row(row: dict | None) -> ListingState | None:
    if row is None:
        return None
    return ListingState(
        row["asset"], row["list_name"], row["first_detected_at"], row["last_checked_at"], row["confirmations"], tuple(row["codes"]), row["meaning"], row["delisted_at"]
    )


def row_from_state(state: ListingState) -> dict:
    row = dataclasses.asdict(state)
    row["codes"] = list(state.codes)
    return row


@dataclasses.dataclass(frozen=True)
class DnsCheckSummary:
    """One check cycle: the signals raised and, when a policy was given, the alerts changed and outbox rows written."""

    at: datetime
    signals: tuple[Signal, ...]
    outcomes: tuple[AppliedOutcome, ...] = ()
    notifications: int = 0


def apply_in_transaction(conn: sa.Connection, signals: list[Signal], now: datetime, policy: Policy | None) -> DnsCheckSummary:
    if policy is None:
        return DnsCheckSummary(now, tuple(signals))
    result = apply_signals(conn, signals, now=now, policy=policy)
    return DnsCheckSummary(now, tuple(signals), result.outcomes, result.notifications)


async def run_blocklist_checks(
    engine: sa.Engine,
    resolver: Resolver,
    tenant: str,
    assets: Sequence[Asset],
    lists: Sequence[Blocklist],
    now: datetime,
    *,
    policy: Policy | None = None,
) -> DnsCheckSummary:
    """Check `assets` on `lists`, then store the results and listing episodes and apply the signals under `policy`, in one transaction.

    Without `policy` the signals are returned and no alert changes.
    """
    results = await check_blocklists(resolver, assets, lists)
    return store_blocklist_results(engine, tenant, results, now, policy=policy)


def store_blocklist_results(engine: sa.Engine, tenant: str, results: Sequence[ListingResult], now: datetime, *, policy: Policy | None = None) -> DnsCheckSummary:
    """Store one check's blocklist results and listing episodes and apply their signals under `policy`, in one transaction.

    Results for an asset that a list does not take (a domain on an IP
    list) are not stored, because no query was sent for them.
    """
    results = [result for result in results if applies(result.asset, result.blocklist)]
    signals: list[Signal] = []
    with engine.begin() as conn:
        rows = [{"subject": result.asset.value, "check_name": result.blocklist.name, "status": result.status.value, "detail": result.to_json()} for result in results]
        insert_check_results(conn, tenant, now, "blocklist", rows)
        latest = latest_listings(conn, tenant)
        for result in results:
            previous = state_from_row(latest.get((result.asset.value, result.blocklist.name)))
            state, new_signals = track_listing(previous, observation(result), now, tenant)
            if state is not None and state != previous:
                save_listing(conn, tenant, row_from_state(state))
            signals.extend(new_signals)
        healths = {result.blocklist.name: result.health for result in results}
        signals.extend(health_signals(healths, now, tenant))
        return apply_in_transaction(conn, signals, now, policy)


async def run_auth_checks(
    engine: sa.Engine,
    resolver: Resolver,
    tenant: str,
    domains: Sequence[str],
    options: AuthOptions,
    now: datetime,
    *,
    policy: Policy | None = None,
) -> DnsCheckSummary:
    """Check the domains' records, then store the reports and states and apply the signals under `policy`, in one transaction."""
    reports = await asyncio.gather(*(check_domain(resolver, domain, options) for domain in domains))
    return store_auth_reports(engine, tenant, reports, now, policy=policy)


def store_auth_reports(engine: sa.Engine, tenant: str, reports: Sequence[DomainReport], now: datetime, *, policy: Policy | None = None) -> DnsCheckSummary:
    """Store one check's domain reports and record states and apply their signals under `policy`, in one transaction."""
    signals: list[Signal] = []
    with engine.begin() as conn:
        for report in reports:
            detail = latest_check_detail(conn, tenant, "auth", report.domain, AUTH_CHECK_NAME)
            previous = AuthState(**detail["state"]) if detail else None
            state, new_signals = track_auth(previous, report, now, tenant)
            row = {"subject": report.domain, "check_name": AUTH_CHECK_NAME, "status": worst_status(report), "detail": {"report": report.to_json(), "state": dataclasses.asdict(state)}}
            insert_check_results(conn, tenant, now, "auth", [row])
            signals.extend(new_signals)
        return apply_in_transaction(conn, signals, now, policy)


def worst_status(report: DomainReport) -> str:
    # A certain problem outranks a check that could not finish.
    order = ["ok", "warning", "unknown", "missing", "error"]
    return max((check.status.value for check in report.checks.values()), key=order.index)
