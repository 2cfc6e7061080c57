"""Job leases in the store: take, renew, expire and release, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.store.leases import acquire, get_lease, release

START = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
TTL = timedelta(minutes=5)
JOB = "evaluate:default"


def take(engine, holder: str, now: datetime, ttl: timedelta = TTL, name: str = JOB) -> bool:
    with engine.begin() as conn:
        return acquire(conn, name, holder, now, ttl)


def stored(engine, name: str = JOB):
    with engine.connect() as conn:
        return get_lease(conn, name)


def test_lease_free_is_taken(engine):
    assert take(engine, "a", START)
    lease = stored(engine)
    assert lease.holder == "a"
    assert lease.acquired_at == START
    assert lease.expires_at == START + TTL


def test_lease_live_rejects_other_holder(engine):
    assert take(engine, "a", START)
    assert not take(engine, "b", START + TTL - timedelta(seconds=1))
    assert stored(engine).holder == "a"


def test_lease_renewal_extends_expiry_keeps_acquired_at(engine):
    assert take(engine, "a", START)
    assert take(engine, "a", START + timedelta(minutes=4))
    lease = stored(engine)
    assert lease.acquired_at == START
    assert lease.expires_at == START + timedelta(minutes=4) + TTL


def test_lease_expired_is_taken_over(engine):
    assert take(engine, "a", START)
    assert take(engine, "b", START + TTL)
    lease = stored(engine)
    assert lease.holder == "b"
    assert lease.acquired_at == START + TTL
    assert not take(engine, "a", START + TTL + timedelta(seconds=1))


def test_lease_names_are_independent(engine):
    assert take(engine, "a", START, name="evaluate:default")
    assert take(engine, "b", START, name="retention")
    assert stored(engine, "retention").holder == "b"


def test_lease_release_frees_it_at_once(engine):
    assert take(engine, "a", START)
    with engine.begin() as conn:
        assert release(conn, JOB, "a")
    assert stored(engine) is None
    assert take(engine, "b", START + timedelta(seconds=1))


def test_lease_release_by_other_holder_changes_nothing(engine):
    assert take(engine, "a", START)
    with engine.begin() as conn:
        assert not release(conn, JOB, "b")
    assert stored(engine).holder == "a"


def test_lease_nonpositive_ttl_rejected(engine):
    with pytest.raises(ValueError, match="invalid lease TTL"):
        take(engine, "a", START, ttl=timedelta(0))
