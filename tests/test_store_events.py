from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store import events as events_module
from inboxwatch.store.events import ConcurrentInsertError, event_key, store_events
from inboxwatch.store.quarantine import list_quarantine
from inboxwatch.store.schema import events, rollups

T0 = datetime(2026, 3, 3, 10, 0, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 3, 4, 0, 0, 0, tzinfo=timezone.utc)


def make_event(number, event_type=EventType.DELIVERED, *, time=T0, recipient="user@gmail.com", **fields):
    return DeliveryEvent(
        type=event_type,
        time=time,
        source="test",
        event_id="event-%d" % number,
        recipient=recipient,
        sending_ip="192.0.2.1",
        sending_domain="mail.example.com",
        **fields,
    )


def mixed_batch():
    return [
        make_event(1, EventType.SENT),
        make_event(2, EventType.DELIVERED),
        make_event(3, EventType.DELIVERED, recipient="other@outlook.com"),
        make_event(4, EventType.BOUNCED, hard=True, time=T0 + timedelta(seconds=30)),
        make_event(5, EventType.BOUNCED, hard=False, time=T0 + timedelta(minutes=1)),
        make_event(6, EventType.DEFERRED, time=T0 + timedelta(minutes=2)),
        make_event(7, EventType.COMPLAINED, tenant="acme"),
    ]


def store(engine, batch, **options):
    with engine.begin() as conn:
        return store_events(conn, batch, ingest_id=None, now=NOW, **options)


def rollup_totals(conn):
    columns = ["sent", "delivered", "deferred", "bounced", "hard_bounced", "complained"]
    row = conn.execute(sa.select(*[sa.func.coalesce(sa.func.sum(rollups.c[name]), 0) for name in columns])).one()
    return dict(zip(columns, row))


def test_event_key_is_sha256_of_source_and_id():
    key = event_key(make_event(1))
    assert len(key) == 64
    assert key != event_key(make_event(2))
    assert key == event_key(make_event(1, EventType.BOUNCED))


def test_store_events_counts_stored(engine):
    counts = store(engine, mixed_batch())
    assert counts.stored == 7
    assert counts.duplicates == 0
    assert counts.rejected == 0


def test_store_events_same_batch_twice_changes_nothing(engine):
    store(engine, mixed_batch())
    with engine.connect() as conn:
        before = rollup_totals(conn)
    counts = store(engine, mixed_batch())
    assert counts.stored == 0
    assert counts.duplicates == 7
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 7
        assert rollup_totals(conn) == before


def test_store_events_repeats_within_batch_skipped(engine):
    batch = [make_event(1), make_event(1), make_event(2), make_event(1)]
    counts = store(engine, batch)
    assert counts.stored == 2
    assert counts.duplicates == 2
    with engine.connect() as conn:
        assert rollup_totals(conn)["delivered"] == 2


def test_store_events_rollups_match_raw_counts(engine):
    store(engine, mixed_batch())
    store(engine, mixed_batch()[:3] + [make_event(8, EventType.BOUNCED, hard=True)])
    with engine.connect() as conn:
        raw = dict(conn.execute(sa.select(events.c.type, sa.func.count()).group_by(events.c.type)).all())
        hard = conn.execute(
            sa.select(sa.func.count()).select_from(events).where(events.c.type == "bounced", events.c.hard.is_(True))
        ).scalar()
        totals = rollup_totals(conn)
    assert totals["sent"] == raw["sent"]
    assert totals["delivered"] == raw["delivered"]
    assert totals["bounced"] == raw["bounced"] == 3
    assert totals["deferred"] == raw["deferred"]
    assert totals["complained"] == raw["complained"]
    assert totals["hard_bounced"] == hard == 2


def test_store_events_rollups_per_minute_and_dimensions(engine):
    store(engine, mixed_batch())
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(rollups.c.bucket, rollups.c.tenant, rollups.c.provider, rollups.c.delivered).order_by(rollups.c.id)
        ).all()
    keys = {(row.bucket.replace(tzinfo=None), row.tenant, row.provider) for row in rows}
    minute = T0.replace(tzinfo=None)
    assert (minute, "default", "gmail") in keys
    assert (minute, "default", "microsoft") in keys
    assert (minute + timedelta(minutes=1), "default", "gmail") in keys
    assert (minute, "acme", "gmail") in keys


def test_store_events_undated_event_quarantined(engine):
    counts = store(engine, [make_event(1), make_event(2, time=None)])
    assert counts.stored == 1
    assert counts.rejected == 1
    with engine.connect() as conn:
        items = list_quarantine(conn)
    assert len(items) == 1
    assert "no time" in items[0].reason
    assert items[0].location == "event event-2"
    assert items[0].received_at == NOW


@pytest.mark.parametrize(
    ("retention", "recipient", "domain"),
    [("full", "user@gmail.com", "gmail.com"), ("domain", None, "gmail.com"), ("none", None, None)],
    ids=["full", "domain", "none"],
)
def test_store_events_recipient_retention(engine, retention, recipient, domain):
    store(engine, [make_event(1)], recipient_retention=retention)
    with engine.connect() as conn:
        row = conn.execute(sa.select(events.c.recipient, events.c.recipient_domain, events.c.provider)).one()
    assert row.recipient == recipient
    assert row.recipient_domain == domain
    assert row.provider == "gmail"


def test_store_events_invalid_retention_rejected(engine):
    with pytest.raises(ValueError, match="recipient_retention"):
        store(engine, [make_event(1)], recipient_retention="partial")


def test_store_events_provider_from_relay_host(engine):
    event = make_event(1, recipient="someone@custom-domain.example", relay_host="custom-domain-example.mail.protection.outlook.com")
    store(engine, [event, make_event(2, recipient="x@custom-domain.example", provider="gmail")])
    with engine.connect() as conn:
        providers = conn.execute(sa.select(events.c.provider).order_by(events.c.id)).scalars().all()
    assert providers == ["microsoft", "gmail"]


def test_store_events_times_stored_in_utc(engine):
    local = timezone(timedelta(hours=2))
    store(engine, [make_event(1, time=datetime(2026, 3, 3, 12, 0, 30, tzinfo=local))])
    with engine.connect() as conn:
        stored = conn.execute(sa.select(events.c.time)).scalar_one()
        bucket = conn.execute(sa.select(rollups.c.bucket)).scalar_one()
    assert stored.replace(tzinfo=None) == datetime(2026, 3, 3, 10, 0, 30)
    assert bucket.replace(tzinfo=None) == datetime(2026, 3, 3, 10, 0)


def concurrent_write_after_lookup(monkeypatch, engine, batch):
    """Store `batch` from another connection right after the next key look-up, as a concurrent writer would."""
    original = events_module.existing_keys
    pending = [batch]

    def lookup_then_write(conn, keys):
        found = original(conn, keys)
        if pending:
            with engine.begin() as other:
                store_events(other, pending.pop(), ingest_id=None, now=NOW)
        return found

    monkeypatch.setattr(events_module, "existing_keys", lookup_then_write)


def test_store_events_concurrent_insert_raises(engine, monkeypatch):
    concurrent_write_after_lookup(monkeypatch, engine, [make_event(2)])
    with pytest.raises(ConcurrentInsertError):
        store(engine, mixed_batch())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() == 1
        assert rollup_totals(conn)["delivered"] == 1


def test_store_events_skip_conflicts_counts_only_own_inserts(engine, monkeypatch):
    concurrent_write_after_lookup(monkeypatch, engine, [make_event(2), make_event(4, EventType.BOUNCED, hard=True)])
    counts = store(engine, mixed_batch(), skip_conflicts=True)
    assert counts.stored == 5
    assert counts.duplicates == 2
    with engine.connect() as conn:
        raw = dict(conn.execute(sa.select(events.c.type, sa.func.count()).group_by(events.c.type)).all())
        totals = rollup_totals(conn)
    assert totals["delivered"] == raw["delivered"] == 2
    assert totals["bounced"] == raw["bounced"] == 2
    assert totals["hard_bounced"] == 1
    assert totals["sent"] == raw["sent"] == 1


def test_store_events_extra_json_kept_per_event(engine):
    # Equal-looking extras of different types, and nested ones, are stored as given.
    extras = [{"n": 1}, {"n": True}, {"n": 1.5}, {"n": 1}, {"hops": ["a", "b"]}, {"hops": ["a", "c"]}, {}]
    batch = [make_event(number, extra=extra) for number, extra in enumerate(extras)]
    with engine.begin() as conn:
        store_events(conn, batch, ingest_id=None)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.event_key, events.c.extra)).all()
    stored = {key: extra for key, extra in rows}
    assert [stored[event_key(event)] for event in batch] == [
        {"n": 1}, {"n": True}, {"n": 1.5}, {"n": 1}, {"hops": ["a", "b"]}, {"hops": ["a", "c"]}, None,
    ]


def test_store_events_with_enrichment_labels_rows(engine):
    from inboxwatch.classify.enrich import EnrichOptions, enrich

    raw = DeliveryEvent(
        type=EventType.DELIVERED,
        time=T0,
        source="test",
        event_id="raw-1",
        recipient="someone@custom.example",
        sender="news@Mail.Shop.Example",
        relay_host="custom-example.mail.protection.outlook.com",
        extra={"instance": "postfix-out1"},
    )
    options = EnrichOptions(tenant="acme", instance_ips={"postfix-out1": "192.0.2.7"})
    with engine.begin() as conn:
        store_events(conn, [raw], ingest_id=None, enrich_options=options)
    with engine.connect() as conn:
        row = conn.execute(sa.select(events.c.provider, events.c.sending_domain, events.c.sending_ip, events.c.tenant)).one()
    enriched = enrich(raw, options)
    assert tuple(row) == (enriched.provider, enriched.sending_domain, enriched.sending_ip, enriched.tenant)
    assert tuple(row) == ("microsoft", "mail.shop.example", "192.0.2.7", "acme")
