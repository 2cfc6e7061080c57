"""Scheduled DNS check cycles: results and listing history stored, signals raised."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dnsserver import DnsServer, ZoneData
from inboxwatch.dnscheck.auth import AuthOptions
from inboxwatch.dnscheck.blocklists import select_lists
from inboxwatch.dnscheck.changes import DMARC_POLICY_RULE, LISTING_RULE
from inboxwatch.dnscheck.dnsbl import parse_asset
from inboxwatch.dnscheck.resolver import Resolver, parse_nameserver
from inboxwatch.service.dns_checks import run_auth_checks, run_blocklist_checks
from inboxwatch.store.schema import blocklist_listings, dns_check_results

START = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)

ZONE = {
    "2.0.0.127.bl.test": {"A": ["127.0.0.2"]},
    "10.2.0.192.bl.test": {"A": ["127.0.0.2"]},
    "example.test": {"TXT": ["v=spf1 -all"]},
    "_dmarc.example.test": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@example.test"]},
}


@pytest.fixture
def zone():
    return ZoneData(ZONE)


@pytest.fixture
def server(zone):
    with DnsServer(zone) as running:
        yield running


def blocklist_cycle(engine, server, hour):
    # A fresh resolver each cycle, so its cache never hides a zone change.
    resolver = Resolver([parse_nameserver(server.address)], timeout=1.0)
    assets = [parse_asset("192.0.2.10")]
    summary = asyncio.run(run_blocklist_checks(engine, resolver, "default", assets, select_lists(["bl.test"]), START + timedelta(hours=hour)))
    return summary.signals


def listing_signals(signals):
    return [(signal.breached, signal.summary) for signal in signals if signal.rule == LISTING_RULE]


def test_history_listing_confirmed_then_delisted(engine, server, zone):
    assert listing_signals(blocklist_cycle(engine, server, 0)) == []
    assert listing_signals(blocklist_cycle(engine, server, 1)) == [(True, "192.0.2.10 listed on bl.test (listed, return code 127.0.0.2 not in the catalogue)")]
    del zone.records["10.2.0.192.bl.test"]
    assert listing_signals(blocklist_cycle(engine, server, 2)) == [(False, "192.0.2.10 delisted from bl.test")]

    with engine.connect() as conn:
        (episode,) = conn.execute(sa.select(blocklist_listings)).mappings().all()
        stored = conn.execute(sa.select(sa.func.count()).select_from(dns_check_results)).scalar_one()
    assert episode["confirmations"] == 2
    assert episode["delisted_at"] is not None
    assert stored == 3


def test_history_dmarc_policy_change(engine, server, zone):
    resolver_options = AuthOptions(mta_sts_policy_url="https://127.0.0.1:9/{domain}")

    def cycle(hour):
        resolver = Resolver([parse_nameserver(server.address)], timeout=1.0)
        return asyncio.run(run_auth_checks(engine, resolver, "default", ["example.test"], resolver_options, START + timedelta(hours=hour))).signals

    cycle(0)
    zone.records["_dmarc.example.test"] = {"TXT": ["v=DMARC1; p=none; rua=mailto:d@example.test"]}
    signals = [signal for signal in cycle(1) if signal.rule == DMARC_POLICY_RULE]
    assert [(signal.breached, signal.summary) for signal in signals] == [(True, "DMARC policy changed from reject to none")]
