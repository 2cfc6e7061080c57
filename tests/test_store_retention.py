from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store.events import store_events
from inboxwatch.store.quarantine import QuarantineItem, add_quarantine, list_quarantine
from inboxwatch.store.retention import apply_retention
from inboxwatch.store.schema import events, rollups

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def delivered(number, age):
    return DeliveryEvent(
        type=EventType.DELIVERED,
        time=NOW - age,
        source="test",
        event_id="event-%d" % number,
        recipient="user@gmail.com",
    )


def test_retention_deletes_old_events_keeps_rollups(engine):
    with engine.begin() as conn:
        store_events(conn, [delivered(1, timedelta(days=40)), delivered(2, timedelta(days=1))], ingest_id=None, now=NOW)
        rollups_before = conn.execute(sa.select(sa.func.sum(rollups.c.delivered))).scalar()
        result = apply_retention(conn, now=NOW, event_days=30)
    with engine.connect() as conn:
        remaining = conn.execute(sa.select(events.c.event_key)).scalars().all()
        rollups_after = conn.execute(sa.select(sa.func.sum(rollups.c.delivered))).scalar()
    assert result.events_deleted == 1
    assert len(remaining) == 1
    assert rollups_after == rollups_before == 2


def test_retention_deletes_old_quarantine(engine):
    items = [
        QuarantineItem(source="old.log", kind="postfix", reason="bad line", received_at=NOW - timedelta(days=20)),
        QuarantineItem(source="new.log", kind="postfix", reason="bad line", received_at=NOW - timedelta(days=2)),
    ]
    with engine.begin() as conn:
        add_quarantine(conn, items, now=NOW)
        result = apply_retention(conn, now=NOW, event_days=30, quarantine_days=7)
    with engine.connect() as conn:
        sources = [item.source for item in list_quarantine(conn)]
    assert result.quarantine_deleted == 1
    assert sources == ["new.log"]


def test_retention_zero_days_rejected(engine):
    with engine.begin() as conn, pytest.raises(ValueError, match="event_days"):
        apply_retention(conn, now=NOW, event_days=0)
