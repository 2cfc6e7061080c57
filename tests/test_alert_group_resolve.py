"""A group's resolve notifications in simulated time: a firing update while any alert of the group fires."""

from __future__ import annotations

from alerting_support import breach, clear, cycle, outbox_rows, policy_from
from inboxwatch.model.alerts import Severity

GROUPED = {
    "route": {
        "channels": ["pager"],
        "group_by": ["tenant", "rule"],
        "group_wait": "0s",
        "group_interval": "5m",
        "repeat_interval": "4h",
    }
}

# Each step: minute, signals, and the notification expected then as
# (outbox reason, decision reason, group status, firing count, resolved count), or None.
TIMELINE = [
    (0, [breach(provider="microsoft", severity=Severity.CRITICAL), breach(provider="gmail")], ("firing", "first notification", "firing", 2, 0)),
    # Gmail clears while Microsoft's critical alert still fires: the resolve waits for group_interval.
    (1, [clear(provider="gmail")], None),
    # The group's only change is a resolve, but an alert still fires, so the
    # outbox reason stays `firing` and PagerDuty keeps the incident open.
    (5, [], ("firing", "resolved", "firing", 1, 1)),
    (6, [clear(provider="microsoft")], None),
    # The last firing alert has resolved: now the group is resolved.
    (10, [], ("resolved", "resolved", "resolved", 0, 1)),
]


def test_group_resolve_timeline(engine):
    policy = policy_from(GROUPED)
    seen = {}
    for minute, signals, _expected in TIMELINE:
        before = len(outbox_rows(engine))
        cycle(engine, minute, signals, policy)
        new = outbox_rows(engine)[before:]
        assert len(new) <= 1
        if new:
            payload = new[0]["payload"]
            seen[minute] = (
                new[0]["reason"],
                payload["decision_reason"],
                payload["status"],
                payload["firing_count"],
                payload["resolved_count"],
            )
        else:
            seen[minute] = None

    assert seen == {minute: expected for minute, _signals, expected in TIMELINE}


def test_group_resolve_keeps_firing_subject(engine):
    policy = policy_from(GROUPED)
    for minute, signals, _expected in TIMELINE[:3]:
        cycle(engine, minute, signals, policy)

    row = outbox_rows(engine)[-1]
    assert row["reason"] == "firing"
    assert row["payload"]["summary"].startswith("1 firing, 1 resolved: ")
    assert row["payload"]["severity"] == "critical"
