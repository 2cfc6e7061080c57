"""Group keys on single-alert notifications: an acknowledgement or escalation reaches the incident its group opened."""

from __future__ import annotations

from alerting_support import START, all_alerts, at, breach, cycle, outbox_rows, policy_from
from inboxwatch.config.channels import PagerDutyChannelSettings
from inboxwatch.model.alerts import Severity
from inboxwatch.notify.notification import Notification
from inboxwatch.notify.pagerduty import PagerDutyChannel
from inboxwatch.store import alerts as alert_store

# Alerts grouped by tenant and rule, so two providers share one group and one PagerDuty incident.
GROUPED = {"route": {"channels": ["pager"], "group_by": ["tenant", "rule"], "group_wait": "0s"}}

# Critical alerts match two child routes that send to the same channel with different grouping.
TWO_ROUTES = {
    "route": {"channels": ["pager"], "group_wait": "0s"},
    "routes": [
        {"matchers": ['severity="critical"'], "group_by": ["provider"], "continue": True},
        {"matchers": ['severity="critical"'], "group_by": ["tenant", "rule"]},
    ],
}

ESCALATING = {
    **GROUPED,
    "escalation_policies": [{"name": "ops", "levels": [{"after": "10m", "channels": ["sms"]}]}],
    "route": {**GROUPED["route"], "escalation_policy": "ops"},
}


def pagerduty_event(row: dict) -> dict:
    settings = PagerDutyChannelSettings(name="pager", routing_key="test-routing-key", base_url="http://127.0.0.1:9")
    channel = PagerDutyChannel(settings, "test-routing-key", lambda: START)
    notification = Notification(
        channel=row["channel"], reason=row["reason"], idempotency_key=row["idempotency_key"], payload=row["payload"], created_at=START
    )
    return channel.build_event(notification)


def acknowledge_first(engine, minute: float):
    alert = next(alert for alert in all_alerts(engine) if alert.labels.get("provider") == "microsoft")
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", "moving traffic", at(minute))
    return alert


def test_acknowledgement_carries_group_key(engine):
    cycle(engine, 0, [breach(provider="microsoft"), breach(provider="gmail")], policy_from(GROUPED))
    acknowledge_first(engine, 3)

    rows = outbox_rows(engine)
    trigger = next(row for row in rows if row["reason"] == "firing")
    ack = next(row for row in rows if row["reason"] == "acknowledged")
    assert trigger["payload"]["firing_count"] == 2
    assert ack["payload"]["group_key"] == trigger["payload"]["group_key"]
    assert ack["payload"]["group_labels"] == {"tenant": "default", "rule": "bounce_rate"}
    assert ack["payload"]["route"] == "default"


def test_acknowledgement_dedup_key_matches_trigger(engine):
    cycle(engine, 0, [breach(provider="microsoft"), breach(provider="gmail")], policy_from(GROUPED))
    alert = acknowledge_first(engine, 3)

    rows = outbox_rows(engine)
    trigger = pagerduty_event(next(row for row in rows if row["reason"] == "firing"))
    ack = pagerduty_event(next(row for row in rows if row["reason"] == "acknowledged"))
    assert ack["event_action"] == "acknowledge"
    assert ack["dedup_key"] == trigger["dedup_key"]
    assert ack["dedup_key"] != alert.fingerprint


def test_acknowledgement_reaches_every_route_group(engine):
    # One alert on two routes is in two groups that share the channel, so
    # the channel holds two incidents and each gets an acknowledgement.
    cycle(engine, 0, [breach(provider="microsoft", severity=Severity.CRITICAL)], policy_from(TWO_ROUTES))
    acknowledge_first(engine, 3)

    rows = outbox_rows(engine)
    triggered = sorted(row["payload"]["group_key"] for row in rows if row["reason"] == "firing")
    acknowledged = sorted(row["payload"]["group_key"] for row in rows if row["reason"] == "acknowledged")
    assert len(triggered) == 2
    assert acknowledged == triggered
    assert len({row["idempotency_key"] for row in rows}) == len(rows)


def test_acknowledgement_replay_writes_nothing_twice(engine):
    cycle(engine, 0, [breach(provider="microsoft")], policy_from(GROUPED))
    alert = acknowledge_first(engine, 3)
    with engine.begin() as conn:
        written = alert_store.enqueue_notifications(conn, alert_store.get_alert(conn, alert.id), "acknowledged", at(3))

    assert written == 0
    assert [row["reason"] for row in outbox_rows(engine)] == ["firing", "acknowledged"]


def test_escalation_carries_group_key(engine):
    policy = policy_from(ESCALATING)
    cycle(engine, 0, [breach(provider="microsoft")], policy)
    cycle(engine, 10, [], policy)

    rows = outbox_rows(engine)
    trigger = next(row for row in rows if row["reason"] == "firing")
    escalation = next(row for row in rows if row["reason"] == "escalation")
    assert escalation["channel"] == "sms"
    assert escalation["payload"]["group_key"] == trigger["payload"]["group_key"]
    assert escalation["payload"]["escalation_level"] == 1
