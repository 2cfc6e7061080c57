"""What a cycle writes back: whole alerts only when a stored field changed, else only `last_evaluated_at`."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from alerting_support import at, breach, cycle, policy_from
from inboxwatch.alerting.cycle import split_writes
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.schema import alerts as alerts_table

POLICY = {"route": {"channels": ["ops"], "group_wait": "0s"}}


def stored_alert(engine):
    with engine.connect() as conn:
        (alert,) = alert_store.open_alerts(conn).values()
    return alert


def stored_annotations(engine) -> dict:
    with engine.connect() as conn:
        return conn.execute(sa.select(alerts_table.c.annotations)).scalar_one()


def test_cycle_writes_moves_evaluation_time_only(engine):
    policy = policy_from(POLICY)
    cycle(engine, 0, [breach(provider="gmail")], policy)
    before = stored_alert(engine)
    cycle(engine, 1, [breach(provider="gmail")], policy)
    after = stored_alert(engine)

    assert after.last_evaluated_at == at(1)
    assert dataclasses.replace(after, last_evaluated_at=before.last_evaluated_at) == before


def test_cycle_writes_changed_value(engine):
    policy = policy_from(POLICY)
    cycle(engine, 0, [dataclasses.replace(breach(provider="gmail"), value=0.07)], policy)
    cycle(engine, 1, [dataclasses.replace(breach(provider="gmail"), value=0.09, summary="gmail 9%")], policy)
    alert = stored_alert(engine)

    assert alert.value == 0.09
    assert alert.summary == "gmail 9%"
    assert stored_annotations(engine)["summary"] == "gmail 9%"
    assert alert.last_evaluated_at == at(1)


def test_split_writes_separates_unchanged(engine):
    cycle(engine, 0, [breach(provider="gmail"), breach(provider="yahoo")], policy_from(POLICY))
    with engine.connect() as conn:
        loaded = alert_store.open_alerts(conn)
    gmail, yahoo = sorted(loaded.values(), key=lambda alert: alert.labels["provider"])
    planned = {
        gmail.fingerprint: gmail.replace(last_evaluated_at=at(1)),
        yahoo.fingerprint: yahoo.replace(last_evaluated_at=at(1), value=0.5),
    }

    rewrite, evaluated = split_writes(planned, loaded)

    assert [alert.fingerprint for alert in rewrite] == [yahoo.fingerprint]
    assert [alert.fingerprint for alert in evaluated] == [gmail.fingerprint]


def test_open_alerts_do_not_share_annotations(engine):
    cycle(engine, 0, [dataclasses.replace(breach(provider="gmail"), annotations={"runbook": "r1"})], policy_from(POLICY))
    first = stored_alert(engine)
    first.annotations["runbook"] = "changed by a caller"
    second = stored_alert(engine)

    assert second.annotations == {"runbook": "r1"}
