"""A small store for the dashboard tests: a day of delivery events, alerts with history, DNS results and a DMARC report.

Everything is placed relative to `web_support.NOW`, the test clock, so the
overview's 24-hour range contains all of it.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.parsers.dmarc import parse_report
from inboxwatch.store.alerts import record_transition, save_alert
from inboxwatch.store.dns_checks import insert_check_results, save_listing
from inboxwatch.store.events import store_events
from inboxwatch.store.reports import store_aggregate_reports

from report_support import fixture
from web_support import NOW

# (provider, recipient domain, share of mail, bounce probability, deferral probability)
PROVIDERS = (
    ("gmail", "gmail.com", 0.5, 0.01, 0.02),
    ("microsoft", "outlook.com", 0.25, 0.06, 0.10),
    ("yahoo", "yahoo.com", 0.15, 0.02, 0.03),
    ("apple", "icloud.com", 0.10, 0.01, 0.01),
)
SENDING_IPS = ("192.0.2.10", "192.0.2.11")


def delivery_events(count: int, now: datetime = NOW, seed: int = 7) -> list[DeliveryEvent]:
    """Generate `count` sent messages over the 24 hours before `now`, each with its outcome and some complaints."""
    rng = random.Random(seed)
    events = []
    for number in range(count):
        provider, domain, _, bounce, deferral = rng.choices(PROVIDERS, weights=[item[2] for item in PROVIDERS])[0]
        time = now - timedelta(seconds=rng.randrange(1, 24 * 3600))
        common = {
            "source": "test",
            "recipient": "user%d@%s" % (number, domain),
            "sending_ip": SENDING_IPS[number % len(SENDING_IPS)],
            "sending_domain": "news.example.com",
            "campaign": "spring" if number % 3 else "welcome",
            "provider": provider,
        }
        events.append(DeliveryEvent(type=EventType.SENT, time=time, event_id="s%d" % number, **common))
        if rng.random() < deferral:
            events.append(DeliveryEvent(type=EventType.DEFERRED, time=time + timedelta(seconds=5), event_id="f%d" % number, smtp_code=421, **common))
        outcome = time + timedelta(seconds=30)
        if rng.random() < bounce:
            events.append(DeliveryEvent(type=EventType.BOUNCED, time=outcome, event_id="b%d" % number, smtp_code=550, hard=True, **common))
            continue
        events.append(DeliveryEvent(type=EventType.DELIVERED, time=outcome, event_id="d%d" % number, **common))
        if rng.random() < 0.002:
            events.append(DeliveryEvent(type=EventType.COMPLAINED, time=outcome + timedelta(minutes=5), event_id="c%d" % number, **common))
    return [event for event in events if event.time < now]


def make_alert(rule: str, provider: str, state: AlertState, minutes_ago: int, severity: Severity = Severity.CRITICAL) -> Alert:
    since = NOW - timedelta(minutes=minutes_ago)
    return Alert(
        id=None,
        fingerprint=(rule + provider).ljust(64, "0")[:64],
        rule=rule,
        tenant="default",
        labels={"provider": provider},
        severity=severity,
        state=state,
        pending_since=since,
        last_evaluated_at=NOW,
        fired_at=since + timedelta(minutes=5) if state != AlertState.PENDING else None,
        resolved_at=NOW - timedelta(minutes=10) if state == AlertState.RESOLVED else None,
        value=0.08,
        threshold=0.05,
        denominator=1200,
        summary="%s %s 8%% over 1,200 sent" % (provider, rule.replace("_", " ")),
    )


def add_alerts(conn: sa.Connection) -> dict[str, int]:
    """Store a firing, a pending and a resolved alert with their history; return their ids by state."""
    ids = {}
    for rule, provider, state, minutes_ago in (
        ("bounce_rate", "microsoft", AlertState.FIRING, 90),
        ("deferral_rate", "yahoo", AlertState.PENDING, 20),
        ("bounce_rate", "gmail", AlertState.RESOLVED, 600),
    ):
        alert = save_alert(conn, make_alert(rule, provider, state, minutes_ago))
        ids[state.value] = alert.id
        record_transition(conn, alert.id, alert.pending_since, None, AlertState.PENDING, None)
        if alert.fired_at:
            record_transition(conn, alert.id, alert.fired_at, AlertState.PENDING, AlertState.FIRING, None)
        if alert.resolved_at:
            record_transition(conn, alert.id, alert.resolved_at, AlertState.FIRING, AlertState.RESOLVED, None)
    return ids


def add_dns_results(conn: sa.Connection) -> None:
    checked = NOW - timedelta(minutes=30)
    insert_check_results(
        conn, "default", checked, "blocklist",
        [
            {"subject": "192.0.2.10", "check_name": "zen.spamhaus.org", "status": "clear", "detail": {}},
            {"subject": "192.0.2.11", "check_name": "bl.spamcop.net", "status": "listed", "detail": {"meaning": "listed by SpamCop"}},
        ],
    )
    report = {
        "domain": "news.example.com",
        "spf": {"status": "ok", "record": "v=spf1 ip4:192.0.2.0/24 -all", "problems": []},
        "dmarc": {"status": "warning", "record": "v=DMARC1; p=none", "problems": ["p=none does not protect the domain"]},
    }
    insert_check_results(conn, "default", checked, "auth", [{"subject": "news.example.com", "check_name": "auth", "status": "warning", "detail": {"report": report}}])
    save_listing(
        conn,
        "default",
        {
            "asset": "192.0.2.11", "list_name": "bl.spamcop.net", "confirmations": 2, "codes": ["127.0.0.2"], "meaning": "listed by SpamCop",
            "first_detected_at": NOW - timedelta(hours=3), "last_checked_at": checked, "delisted_at": None,
        },
    )


def add_dmarc_report(conn: sa.Connection) -> None:
    report = parse_report(fixture("dmarc-rfc7489.xml"), "test")
    begin = int((NOW - timedelta(days=2)).timestamp())
    report = dataclasses.replace(report, begin=begin, end=begin + 86399)
    store_aggregate_reports(conn, [report], tenant="default", now=NOW)


def fill_store(engine: sa.Engine, events: int = 3000) -> dict[str, int]:
    """Store everything the dashboard shows; return the alert ids by state."""
    with engine.begin() as conn:
        store_events(conn, delivery_events(events), ingest_id=None, now=NOW)
        ids = add_alerts(conn)
        add_dns_results(conn)
        add_dmarc_report(conn)
    return ids
