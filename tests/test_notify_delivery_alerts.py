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

        # The next notification the channel delivers resolves the alert.
        insert_notification(engine, "k-accepted", channel="hook", created_at=clock.time)
        asyncio.run(sender.drain_once(clock.time))

    (alert,) = failed_alerts(engine)
    assert alert["state"] == "resolved"


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
