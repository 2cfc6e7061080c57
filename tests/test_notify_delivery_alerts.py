"""A notification that fails for good raises a `notification_failed` alert to the other channels."""

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inboxwatch.config.models import Config
from inboxwatch.notify.channels import build_channels
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.service.delivery_alerts import NOTIFICATION_FAILED_RULE, DeliveryAlerts
from inboxwatch.service.evaluate import run_evaluation
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import alerts, outbox

from notify_support import START, FakeClock, Receiver, insert_notification

# Longer than the default group_wait, so the next evaluation dispatches the new alert's group.
AFTER_GROUP_WAIT = timedelta(minutes=2)
# How long a notification_failed alert fires at least with the default group_wait of 30s.
KEEP_FIRING_FOR = timedelta(seconds=30) + timedelta(minutes=2)


class RecordingObserver:
    def __init__(self) -> None:
        self.failed: list[tuple[int, str]] = []
        self.sent: list[int] = []

    def notification_failed(self, row, error, now) -> None:
        self.failed.append((row.id, error))

    def notification_sent(self, row, now) -> None:
        self.sent.append(row.id)


@pytest.fixture
def engine(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    yield engine
    engine.dispose()


def make_config(hook: Receiver, backup: Receiver) -> Config:
    return Config.model_validate(
        {
            "channels": [
                {"name": "hook", "type": "webhook", "url": hook.url},
                {"name": "backup", "type": "webhook", "url": backup.url},
            ]
        }
    )


def failed_alerts(engine) -> list[dict]:
    query = sa.select(alerts).where(alerts.c.rule == NOTIFICATION_FAILED_RULE)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def outbox_channels(engine, alert_id: int) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(outbox.c.channel, outbox.c.payload).order_by(outbox.c.id)).all()
    return [channel for channel, payload in rows if payload.get("alert_id") == alert_id]


@pytest.mark.parametrize(
    "status, failed, sent",
    [
        pytest.param(400, 1, 0, id="permanent-reported-as-failed"),
        pytest.param(500, 0, 0, id="retry-not-reported"),
        pytest.param(200, 0, 1, id="success-reported-as-sent"),
    ],
)
def test_sender_observer_hears_final_outcomes(engine, status, failed, sent):
    observer = RecordingObserver()
    insert_notification(engine, "k-observed")
    with Receiver() as hook:
        hook.replies.append((status, {}))
        clock = FakeClock()
        config = make_config(hook, hook)
        sender = OutboxSender(engine, build_channels(config.channels, clock), clock, observer=observer)
        asyncio.run(sender.drain_once(START))
    assert len(observer.failed) == failed
    assert len(observer.sent) == sent


def test_sender_observer_error_does_not_stop_drain(engine):
    class BrokenObserver(RecordingObserver):
        def notification_sent(self, row, now) -> None:
            raise RuntimeError("observer broke")

    insert_notification(engine, "k-one")
    insert_notification(engine, "k-two")
    with Receiver() as hook:
        clock = FakeClock()
        config = make_config(hook, hook)
        sender = OutboxSender(engine, build_channels(config.channels, clock), clock, observer=BrokenObserver())
        summary = asyncio.run(sender.drain_once(START))
    assert summary.sent == 2


def test_permanent_failure_alerts_other_channels_then_resolves(engine):
    with Receiver() as hook, Receiver() as backup:
        config = make_config(hook, backup)
        clock = FakeClock()
        channels = build_channels(config.channels, clock)
        sender = OutboxSender(engine, channels, clock, observer=DeliveryAlerts(engine, config))

        insert_notification(engine, "k-rejected", channel="hook")
        hook.replies.append((400, {}))
        asyncio.run(sender.drain_once(START))

        (alert,) = failed_alerts(engine)
        assert alert["state"] == "firing"
        assert alert["severity"] == "warning"
        assert alert["labels"] == {"tenant": "default", "channel": "hook"}

        # The alert engine dispatches the new group once its group_wait has passed.
        clock.time = START + AFTER_GROUP_WAIT
        run_evaluation(engine, config, clock.time)
        assert outbox_channels(engine, alert["id"]) == ["backup"]

        asyncio.run(sender.drain_once(clock.time))
        assert len(backup.requests) == 1
        assert NOTIFICATION_FAILED_RULE.encode() in backup.requests[0]["body"]

        # Deliveries resolve the alert only once they have gone through for
        # keep_firing_for (the longest group_wait plus two minutes, as
        # docs/notifications.md states), so the first one leaves it firing.
        insert_notification(engine, "k-accepted", channel="hook", created_at=clock.time)
        asyncio.run(sender.drain_once(clock.time))
        (kept,) = failed_alerts(engine)

        clock.time = START + AFTER_GROUP_WAIT + KEEP_FIRING_FOR
        insert_notification(engine, "k-accepted-later", channel="hook", created_at=clock.time)
        asyncio.run(sender.drain_once(clock.time))

    assert kept["state"] == "firing"
    (alert,) = failed_alerts(engine)
    assert alert["state"] == "resolved"


# Each case: seconds after the failure when the channel delivers again, and
# the alert's state with the backup requests after an evaluation at 1 minute
# (past the default group_wait of 30s) and a last delivery at 8 minutes.
RECOVERIES = [
    ("within-group-wait", 10, "resolved", 2),
    ("after-first-notification", 90, "resolved", 2),
    ("after-keep-firing-for", 160, "resolved", 2),
]


@pytest.mark.parametrize(
    ("recovered_after", "final_state", "backup_requests"),
    [case[1:] for case in RECOVERIES],
    ids=[case[0] for case in RECOVERIES],
)
def test_failure_alert_outlives_quick_recovery(engine, recovered_after, final_state, backup_requests):
    with Receiver() as hook, Receiver() as backup:
        config = make_config(hook, backup)
        clock = FakeClock()
        sender = OutboxSender(engine, build_channels(config.channels, clock), clock, observer=DeliveryAlerts(engine, config))
        insert_notification(engine, "k-rejected", channel="hook")
        hook.replies.append((400, {}))
        asyncio.run(sender.drain_once(START))

        steps = sorted(
            [
                (timedelta(seconds=recovered_after), "deliver"),
                (timedelta(minutes=1), "evaluate"),
                (timedelta(minutes=8), "deliver"),
            ]
        )
        for offset, step in steps:
            clock.time = START + offset
            if step == "evaluate":
                run_evaluation(engine, config, clock.time)
                (firing,) = failed_alerts(engine)
                assert firing["state"] == "firing"
            else:
                insert_notification(engine, "k-%s" % offset.total_seconds(), channel="hook", created_at=clock.time)
            asyncio.run(sender.drain_once(clock.time))
        run_evaluation(engine, config, START + timedelta(minutes=9))
        asyncio.run(sender.drain_once(START + timedelta(minutes=9)))

        bodies = [request["body"] for request in backup.requests]

    (alert,) = failed_alerts(engine)
    assert alert["state"] == final_state
    # The firing notification, then the resolve, reached the other channel.
    assert len(bodies) == backup_requests
    assert b'"reason":"firing"' in bodies[0].replace(b" ", b"")
    assert b'"reason":"resolved"' in bodies[-1].replace(b" ", b"")


def test_repeated_failures_keep_one_alert(engine):
    with Receiver() as hook, Receiver() as backup:
        config = make_config(hook, backup)
        clock = FakeClock()
        sender = OutboxSender(engine, build_channels(config.channels, clock), clock, observer=DeliveryAlerts(engine, config))
        for key in ("k-a", "k-b", "k-c"):
            insert_notification(engine, key, channel="hook")
        hook.replies.extend([(400, {})] * 3)
        asyncio.run(sender.drain_once(START))

    assert len(failed_alerts(engine)) == 1
