"""Escalation policies in simulated time: levels while unacknowledged, frozen at fire time, stopped by an ack."""

from __future__ import annotations

import pytest

from alerting_support import all_alerts, at, breach, clear, cycle, outbox_rows, policy_from
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


def acknowledge_at(engine, minute):
    (alert,) = all_alerts(engine)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", "looking", at(minute))


def resolve_at(engine, minute):
    (alert,) = all_alerts(engine)
    with engine.begin() as conn:
        alert_store.resolve_manually(conn, alert.id, "ana", "fixed", at(minute))


def clear_at(engine, minute):
    cycle(engine, minute, [clear(provider="microsoft")], policy_from(POLICY))


# Each case: what ends the escalated incident, and the reasons the escalation
# channel receives after its trigger.
FOLLOWUPS = [
    ("acknowledge", [acknowledge_at], ["acknowledged"]),
    ("clear", [clear_at], ["resolved"]),
    ("manual-resolve", [resolve_at], ["resolved"]),
    ("acknowledge-then-clear", [acknowledge_at, clear_at], ["acknowledged", "resolved"]),
]


@pytest.mark.parametrize(("steps", "expected"), [case[1:] for case in FOLLOWUPS], ids=[case[0] for case in FOLLOWUPS])
def test_escalation_channel_gets_followups(engine, steps, expected):
    policy = policy_from(POLICY)
    cycle(engine, 0, [breach(provider="microsoft")], policy)
    cycle(engine, 10, [], policy)
    for minute, step in enumerate(steps, start=12):
        step(engine, minute)
    cycle(engine, 20, [], policy)

    pager = [row for row in outbox_rows(engine) if row["channel"] == "pager"]
    trigger = pager[0]
    assert trigger["reason"] == "escalation"
    assert [row["reason"] for row in pager[1:]] == expected
    # The same dedup key as the trigger, so PagerDuty closes the incident it opened.
    assert {row["payload"]["group_key"] for row in pager} == {trigger["payload"]["group_key"]}
    assert all(row["payload"]["alerts"][0]["alert_id"] == trigger["alert_id"] for row in pager[1:])


def test_escalation_resolve_waits_for_group(engine):
    # Two alerts of one group escalate to the pager under one key; the first
    # resolve must not close the incident the second still keeps open.
    policy = policy_from({**POLICY, "route": {**POLICY["route"], "group_by": ["tenant", "rule"]}})
    cycle(engine, 0, [breach(provider="microsoft"), breach(provider="gmail")], policy)
    cycle(engine, 10, [], policy)
    cycle(engine, 12, [clear(provider="microsoft")], policy)
    held = [row["reason"] for row in outbox_rows(engine) if row["channel"] == "pager"]
    cycle(engine, 14, [clear(provider="gmail")], policy)
    sent = [row["reason"] for row in outbox_rows(engine) if row["channel"] == "pager"]

    assert held == ["escalation", "escalation"]
    assert sent == ["escalation", "escalation", "resolved"]


def test_escalation_to_route_channel_resolves_with_group(engine):
    # The pager is on the route and is the escalation channel, so both use the group's key:
    # one alert's resolve must not close the incident while the other still fires.
    settings = {**POLICY, "route": {**POLICY["route"], "channels": ["pager"], "group_by": ["tenant", "rule"], "group_interval": "1m"}}
    policy = policy_from(settings)
    cycle(engine, 0, [breach(provider="microsoft")], policy)
    # Gmail fires later, so only Microsoft has escalated when it clears.
    cycle(engine, 5, [breach(provider="gmail")], policy)
    cycle(engine, 10, [], policy)
    cycle(engine, 12, [clear(provider="microsoft")], policy)
    cycle(engine, 13, [], policy)

    reasons = [row["reason"] for row in outbox_rows(engine) if row["channel"] == "pager"]
    assert "resolved" not in reasons
    assert reasons[-1] == "firing"
