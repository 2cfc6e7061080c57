"""The DNS checks scheduled by `inboxwatch run`, against a DNS server on loopback, with simulated time."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dnsserver import DnsServer, ZoneData, silent_server
from inboxwatch.config.models import Config
from inboxwatch.dnscheck.changes import LIST_HEALTH_RULE, LISTING_RULE, RESOLVER_RULE
from inboxwatch.model.alerts import AlertState
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.service.dns_schedule import DnsCheckSchedule, blocklist_assets, run_dns_checks_loop
from inboxwatch.store.alerts import open_alerts
from inboxwatch.store.events import store_events
from inboxwatch.store.schema import alerts, dns_check_results

START = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
LISTED_NAME = "10.2.0.192.bl.test"

ZONE = {
    # RFC 5782 section 5 test entries: 127.0.0.2 listed, 127.0.0.1 not.
    "2.0.0.127.bl.test": {"A": ["127.0.0.2"]},
    LISTED_NAME: {"A": ["127.0.0.2"], "TXT": ["listed for the test"]},
    "*.dead.test": {"A": ["127.0.0.2"]},
    "example.test": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"]},
    "_dmarc.example.test": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@example.test"]},
}


@pytest.fixture
def zone():
    return ZoneData({name: dict(types) for name, types in ZONE.items()})


@pytest.fixture
def server(zone):
    with DnsServer(zone) as running:
        yield running


def make_config(nameserver, zones=("bl.test",), **checks):
    return Config.model_validate(
        {
            "sender": {"ips": ["192.0.2.10"], "domains": checks.pop("domains", [])},
            "checks": {"nameservers": [nameserver], "zones": list(zones), "timeout": 0.5, **checks},
        }
    )


def alert_states(engine, rule):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alerts.c.state, alerts.c.labels).where(alerts.c.rule == rule).order_by(alerts.c.id)).all()
    return [(row.state, row.labels.get("list")) for row in rows]


def test_schedule_listing_fires_then_resolves(engine, server, zone):
    schedule = DnsCheckSchedule(engine, make_config(server.address))

    schedule.run_due(START)
    assert alert_states(engine, LISTING_RULE) == []

    # Within the hour nothing is due, so nothing is checked.
    assert schedule.run_due(START + timedelta(minutes=30)) == []

    schedule.run_due(START + timedelta(hours=1))
    assert alert_states(engine, LISTING_RULE) == [(AlertState.FIRING.value, "bl.test")]

    del zone.records[LISTED_NAME]
    schedule.run_due(START + timedelta(hours=2))
    assert alert_states(engine, LISTING_RULE) == [(AlertState.RESOLVED.value, "bl.test")]

    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(dns_check_results)).scalar_one()
    assert stored == 3


def test_schedule_broken_list_one_operator_alert(engine, server):
    schedule = DnsCheckSchedule(engine, make_config(server.address, zones=("bl.test", "dead.test")))
    schedule.run_due(START)
    assert alert_states(engine, LIST_HEALTH_RULE) == [(AlertState.FIRING.value, "dead.test")]
    assert alert_states(engine, RESOLVER_RULE) == []


def test_schedule_silent_resolver_one_alert(engine):
    with silent_server() as address:
        schedule = DnsCheckSchedule(engine, make_config(address, zones=("bl.test", "other.test")))
        schedule.run_due(START)
    with engine.connect() as conn:
        firing = list(open_alerts(conn).values())
    assert [alert.rule for alert in firing] == [RESOLVER_RULE]


def test_schedule_auth_checks_on_own_interval(engine, server):
    config = make_config(server.address, domains=["example.test"], auth_interval="6h", mta_sts_url="https://127.0.0.1:9/{domain}")
    schedule = DnsCheckSchedule(engine, config)
    schedule.run_due(START)
    schedule.run_due(START + timedelta(hours=1))
    with engine.connect() as conn:
        table = dns_check_results.c
        cycles = conn.execute(sa.select(table.kind, sa.func.count(sa.distinct(table.checked_at))).group_by(table.kind)).all()
    assert dict(cycles) == {"blocklist": 2, "auth": 1}


def test_schedule_assets_from_events(engine, server):
    config = make_config(server.address, assets_from_events=True, assets_lookback="7d")
    seen = [
        DeliveryEvent(type=EventType.SENT, time=START - timedelta(days=1), source="test", event_id="recent", sending_ip="198.51.100.7"),
        DeliveryEvent(type=EventType.SENT, time=START - timedelta(days=30), source="test", event_id="old", sending_ip="198.51.100.8"),
    ]
    with engine.begin() as conn:
        store_events(conn, seen, ingest_id=None, now=START)
    with engine.connect() as conn:
        assets = [asset.value for asset in blocklist_assets(conn, config, config.checks, START)]
    assert assets == ["192.0.2.10", "198.51.100.7"]


def test_schedule_loop_runs_until_stopped(engine, server):
    stop = threading.Event()
    config = make_config(server.address)

    def clock():
        # The loop has stored its first cycle by the time it reads the clock again.
        with engine.connect() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(dns_check_results)).scalar_one():
                stop.set()
        return START

    run_dns_checks_loop(engine, config, stop, clock)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(dns_check_results)).scalar_one()
    assert stored == 1


def test_config_checks_invalid_nameserver():
    with pytest.raises(ValueError, match="invalid nameserver"):
        make_config("127.0.0.1:99999")
