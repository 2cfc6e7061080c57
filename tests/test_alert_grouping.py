"""Notification groups in simulated time: group_wait, group_interval, repeat_interval, time windows, restarts."""

from __future__ import annotations

import pytest

from alerting_support import all_alerts, at, breach, clear, cycle, decisions_for, notifications, outbox_rows, policy_from
from inboxwatch.model.alerts import Severity
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.db import open_engine

# One group per tenant and rule, one channel, Alertmanager-like timers.
GROUPED = {
    "route": {
        "channels": ["ops"],
        "group_by": ["tenant", "rule"],
        "group_wait": "1m",
        "group_interval": "5m",
        "repeat_interval": "4h",
    }
}

# Each step: minute, signals, and the decision reason of the notification
# expected at that minute (None: nothing is sent).
TIMELINE = [
    # Microsoft breaches: the group waits group_wait.
    (0, [breach(provider="microsoft")], None),
    # group_wait has passed, with no new signal: the first notification.
    (1, [], "first notification"),
    # Gmail joins the group; group_interval delays the update.
    (2, [breach(provider="gmail")], None),
    (5, [], None),
    # Five minutes after the last notification: new alerts.
    (6, [], "new alerts"),
    # Microsoft clears; the resolve waits for group_interval.
    (7, [clear(provider="microsoft")], None),
    (11, [], "resolved"),
    # Nothing changes for four hours: a repeat while Gmail still fires.
    (11 + 239, [], None),
    (11 + 240, [], "repeat"),
]


def test_grouping_timeline(engine):
    policy = policy_from(GROUPED)
    sent_at = {}
    for minute, signals, _expected in TIMELINE:
        before = len(outbox_rows(engine))
        cycle(engine, minute, signals, policy)
        new = notifications(engine)[before:]
        sent_at[minute] = new[0][2] if new else None

    assert sent_at == {minute: expected for minute, _signals, expected in TIMELINE}


def test_grouping_one_row_per_group_and_channel(engine):
    policy = policy_from({"route": {**GROUPED["route"], "channels": ["ops", "chat"], "group_wait": "0s"}})

    cycle(engine, 0, [breach(provider="microsoft"), breach(provider="gmail", severity=Severity.CRITICAL)], policy)

    rows = outbox_rows(engine)
    assert [row["channel"] for row in rows] == ["ops", "chat"]
    payload = rows[0]["payload"]
    assert payload["decision_reason"] == "first notification"
    assert payload["group_labels"] == {"tenant": "default", "rule": "bounce_rate"}
    assert payload["firing_count"] == 2
    # The lead alert, whose fields top the payload, is the most severe.
    assert payload["severity"] == "critical"
    assert [item["labels"]["provider"] for item in payload["alerts"]] == ["gmail", "microsoft"]
    assert rows[0]["alert_id"] is None


def test_grouping_quick_resolve_sends_nothing(engine):
    # The alert fires and resolves within group_wait.
    policy = policy_from({"route": {**GROUPED["route"], "group_wait": "3m"}})

    cycle(engine, 0, [breach(provider="microsoft")], policy)
    cycle(engine, 1, [clear(provider="microsoft")], policy)
    cycle(engine, 3, [], policy)
    cycle(engine, 10, [], policy)

    (alert,) = all_alerts(engine)
    assert outbox_rows(engine) == []
    assert decisions_for(engine, alert.id) == [
        ("wait", "within group_wait"),
        ("suppress", "not notified: resolved before its group sent a firing notification"),
    ]


def test_grouping_restart_neither_renotifies_nor_loses_resolve(store_url):
    policy = policy_from(GROUPED)
    first = open_engine(store_url)
    cycle(first, 0, [breach(provider="microsoft")], policy)
    cycle(first, 1, [], policy)
    cycle(first, 2, [clear(provider="microsoft")], policy)
    first.dispose()

    # A new process: the log records the firing as sent, and the resolve is due after group_interval.
    second = open_engine(store_url)
    cycle(second, 3, [], policy)
    cycle(second, 6, [], policy)
    cycle(second, 7, [], policy)
    reasons = [reason for _channel, _outbox_reason, reason in notifications(second)]
    second.dispose()

    assert reasons == ["first notification", "resolved"]


@pytest.mark.parametrize(
    ("minute", "expected"),
    [
        # 10:00 UTC on a Monday is 11:00 in Berlin: office time, sent at once.
        (0, ["first notification"]),
        # 17:00 UTC is 18:00 in Berlin: suppressed until 08:00 UTC next day (09:00 in Berlin).
        (7 * 60, []),
    ],
    ids=["inside-window", "outside-window"],
)
def test_grouping_active_window(engine, minute, expected):
    policy = policy_from(
        {
            "time_windows": [
                {"name": "office", "time_zone": "Europe/Berlin", "weekdays": ["monday:friday"], "times": ["09:00-17:00"]}
            ],
            "route": {**GROUPED["route"], "group_wait": "0s", "active_time_windows": ["office"]},
        }
    )

    cycle(engine, minute, [breach(provider="microsoft")], policy)
    sent = [reason for _channel, _outbox_reason, reason in notifications(engine)]

    assert sent == expected


def test_grouping_suppressed_change_sent_when_window_opens(engine):
    policy = policy_from(
        {
            "time_windows": [{"name": "nights", "time_zone": "UTC", "times": ["17:00-08:00"]}],
            "route": {**GROUPED["route"], "group_wait": "0s", "mute_time_windows": ["nights"]},
        }
    )

    cycle(engine, 7 * 60, [breach(provider="microsoft")], policy)
    cycle(engine, 8 * 60, [], policy)
    muted = list(notifications(engine))
    # 08:00 UTC the next day: the mute window has ended.
    cycle(engine, 22 * 60, [], policy)

    (alert,) = all_alerts(engine)
    assert muted == []
    assert [reason for _c, _r, reason in notifications(engine)] == ["first notification"]
    assert decisions_for(engine, alert.id)[0] == ("suppress", "suppressed: mute time window nights")


def test_grouping_acknowledged_group_not_repeated(engine):
    policy = policy_from({"route": {**GROUPED["route"], "group_wait": "0s"}})
    cycle(engine, 0, [breach(provider="microsoft")], policy)
    (alert,) = all_alerts(engine)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", None, at(1))
    cycle(engine, 300, [], policy)

    assert [row["reason"] for row in outbox_rows(engine)] == ["firing", "acknowledged"]


def test_grouping_replay_of_earlier_time_decides_nothing(engine):
    policy = policy_from({"route": {**GROUPED["route"], "group_wait": "0s"}})
    cycle(engine, 10, [breach(provider="microsoft")], policy)
    cycle(engine, 11, [clear(provider="microsoft")], policy)

    # A replay of 10:05 finds the resolved alert, but the log already contains a notification from 10:10.
    cycle(engine, 5, [], policy)
    cycle(engine, 16, [], policy)

    reasons = [reason for _channel, _outbox_reason, reason in notifications(engine)]
    assert reasons == ["first notification", "resolved"]


def test_grouping_acknowledged_payload_lists_alert(engine):
    policy = policy_from({"route": {**GROUPED["route"], "group_wait": "0s"}})
    cycle(engine, 0, [breach(provider="microsoft")], policy)
    (alert,) = all_alerts(engine)
    with engine.begin() as conn:
        alert_store.acknowledge(conn, alert.id, "ana", "moving traffic", at(1))

    (row,) = [row for row in outbox_rows(engine) if row["reason"] == "acknowledged"]
    (listed,) = row["payload"]["alerts"]
    assert listed["alert_id"] == alert.id
    assert listed["state"] == "acknowledged"
    assert listed["acknowledged_by"] == "ana"
