"""Window sums from in-memory minutes agree with the store's window query."""

from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.analysis.windows import MinuteCounts
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store.events import store_events
from inboxwatch.store.metrics import query_counts, query_minutes

START = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def event(minute: int, number: int, event_type: EventType, recipient: str, ip: str, tenant: str = "default") -> DeliveryEvent:
    return DeliveryEvent(
        type=event_type,
        time=START + timedelta(minutes=minute, seconds=number % 50),
        source="test",
        event_id="%d-%d" % (minute, number),
        recipient=recipient,
        sending_ip=ip,
        tenant=tenant,
        hard=True if event_type is EventType.BOUNCED and number % 2 else None,
    )


@pytest.fixture
def filled(engine):
    events = []
    for minute in range(30):
        for number in range(6):
            kind = EventType.BOUNCED if number == 0 else EventType.DEFERRED if number == 1 else EventType.DELIVERED
            recipient = "user%d@%s" % (number, "gmail.com" if number % 2 else "outlook.com")
            ip = "192.0.2.%d" % (1 + minute % 3)
            events.append(event(minute, number, kind, recipient, ip, tenant="acme" if minute % 5 == 0 else "default"))
    with engine.begin() as conn:
        store_events(conn, events, ingest_id=None, now=START)
    return engine


@pytest.mark.parametrize("group_by", [("tenant",), ("tenant", "provider"), ("tenant", "provider", "sending_ip"), ()])
@pytest.mark.parametrize("window", [(0, 30), (5, 20), (29, 30), (40, 50)])
def test_minute_counts_match_query_counts(filled, group_by, window):
    start, end = (START + timedelta(minutes=m) for m in window)
    with filled.connect() as conn:
        minutes = MinuteCounts(query_minutes(conn, start=START, end=START + timedelta(hours=1)))
        expected = query_counts(conn, start=start, end=end, group_by=group_by)
    got = minutes.counts(start=start, end=end, group_by=group_by)
    if not group_by:
        # query_counts always returns one row for an empty group_by.
        expected = [row for row in expected if row.delivered + row.deferred + row.bounced]
    assert got == expected


def test_minute_counts_filter_tenant(filled):
    with filled.connect() as conn:
        minutes = MinuteCounts(query_minutes(conn, start=START, end=START + timedelta(hours=1)))
        expected = query_counts(conn, start=START, end=START + timedelta(minutes=30), group_by=("provider",), tenant="acme")
    assert minutes.counts(start=START, end=START + timedelta(minutes=30), group_by=("provider",), tenant="acme") == expected
