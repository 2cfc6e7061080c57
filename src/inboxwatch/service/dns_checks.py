"""One cycle of scheduled DNS checks: run them, store the results, return the signals for the alert engine."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.dnscheck.auth import AuthOptions, check_domain
from inboxwatch.dnscheck.blocklist_check import ListingResult, check_blocklists
from inboxwatch.dnscheck.blocklists import Blocklist
from inboxwatch.dnscheck.changes import AuthState, ListingObservation, ListingState, health_signals, track_auth, track_listing
from inboxwatch.dnscheck.dnsbl import Asset
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


async def run_blocklist_checks(
    engine: sa.Engine, resolver: Resolver, tenant: str, assets: Sequence[Asset], lists: Sequence[Blocklist], now: datetime
) -> list[Signal]:
    results = await check_blocklists(resolver, assets, lists)
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
    return signals + health_signals(healths, now, tenant)


async def run_auth_checks(
    engine: sa.Engine, resolver: Resolver, tenant: str, domains: Sequence[str], options: AuthOptions, now: datetime
) -> list[Signal]:
    reports = await asyncio.gather(*(check_domain(resolver, domain, options) for domain in domains))
    signals: list[Signal] = []
    with engine.begin() as conn:
        for report in reports:
            detail = latest_check_detail(conn, tenant, "auth", report.domain, AUTH_CHECK_NAME)
            previous = AuthState(**detail["state"]) if detail else None
            state, new_signals = track_auth(previous, report, now, tenant)
            row = {"subject": report.domain, "check_name": AUTH_CHECK_NAME, "status": worst_status(report), "detail": {"report": report.to_json(), "state": dataclasses.asdict(state)}}
            insert_check_results(conn, tenant, now, "auth", [row])
            signals.extend(new_signals)
    return signals


def worst_status(report) -> str:
    order = ["ok", "warning", "missing", "error"]
    return max((check.status.value for check in report.checks.values()), key=order.index)
