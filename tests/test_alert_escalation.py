"""Escalation policies in simulated time: levels while unacknowledged, frozen at fire time, stopped by an ack."""

from __future__ import annotations

from alerting_support import all_alerts, at, breach, cycle, outbox_rows, policy_from
from inboxwatch.store import alerts as alert_store

POLICY = {
    "escalation_policies": [
        {"name": "ops", "levels": [{"after": "10m", "channels": ["pager"]}, {"after": "30m", "channels": ["sms"]}]}
    ],
    "route": {"channels": ["ops"], "group_wait": "0s", "escalation_policy": "ops"},
}

# The same policy edited during the incident: it would page at once.
EDITED = {
    **POLICY,
    "escalation_policies": [{"name": "ops", "levels": [{"after": "1m", "channels": ["chat"]}]}],
}


def escalations(engine) -> list[tuple[str, int]]:
    return [(row["channel"], row["payload"]["escalation_level"]) for row in outbox_rows(engine) if row["reason"] == "escalation"]


def test_escalation_levels_while_unacknowledged(engine):
    policy = policy_from(POLICY)
    steps = [
        # Fires at 10:00; nothing is due before 10 minutes.
        (0, []),
        (9, []),
        # Level 1 at 10 minutes, once.
        (10, [("pager", 1)]),
        (11, [("pager", 1)]),
        # Level 2 at 30 minutes.
        (30, [("pager", 1), ("sms", 2)]),
    ]
    seen = []
    for minute, _expected in steps:
        cycle(engine, minute, [breach(provider="microsoft")] if minute == 0 else [], policy)
        seen.append((minute, escalations(engine)))

    assert seen == steps
    (alert,) = all_alerts(engine)
    assert alert.escalation_level == 2


def test_escalation_policy_frozen_at_fire(engine):
    cycle(engine, 0, [breach(provider="microsoft")], policy_from(POLICY))
    # The configuration changes mid-incident; the alert keeps the policy it fired with.
    cycle(engine, 2, [], policy_from(EDITED))
    cycle(engine, 10, [], policy_from(EDITED))

    (alert,) = all_alerts(engine)
    assert [level.after.total_seconds() for level in alert.escalation.levels] == [600, 1800]
    assert escalations(engine) == [("pager", 1)]


def test_escalation_stopped_by_acknowledgement(engine):
    policy = policy_from(POLICY)
    cycle(engine, 0, [breach(provider="microsoft")], policy)
    cycle(engine, 10, [], policy)
    (alert,) = all_alerts(engine)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", "looking", at(12))
    cycle(engine, 40, [], policy)

    assert escalations(engine) == [("pager", 1)]
