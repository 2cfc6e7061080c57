import asyncio
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inboxwatch.errors import ChannelError
from inboxwatch.notify.retry import RetryPolicy
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.store import outbox as outbox_store
from inboxwatch.store.db import as_utc, open_engine
from inboxwatch.store.schema import notification_attempts

from notify_support import START, FakeClock, insert_notification, outbox_row

LEASE = timedelta(minutes=10)


def no_jitter() -> float:
    return 0.0


class RecordingChannel:
    """Accepts every notification, or raises the queued errors first."""

    def __init__(self, name="hook", errors=()):
        self.name = name
        self.errors = list(errors)
        self.keys = []

    async def send(self, notification):
        # Yield to the event loop, as a real network send would.
        await asyncio.sleep(0)
        if self.errors:
            raise self.errors.pop(0)
        self.keys.append(notification.idempotency_key)


def attempts_of(engine, outbox_id):
    query = sa.select(notification_attempts).where(notification_attempts.c.outbox_id == outbox_id)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query.order_by(notification_attempts.c.id)).mappings()]


def drain(sender, at):
    return asyncio.run(sender.drain_once(at))


def test_outbox_claim_twice_second_gets_none(engine):
    outbox_id = insert_notification(engine, "k1")
    with engine.begin() as connection:
        first = outbox_store.claim(connection, outbox_id, START, LEASE)
    with engine.begin() as connection:
        second = outbox_store.claim(connection, outbox_id, START + timedelta(minutes=1), LEASE)
    assert first is not None
    assert first.attempts == 1
    assert first.payload["rule"] == "provider_bounce_rate"
    assert second is None


def test_outbox_claim_after_lease_expiry_succeeds(engine):
    outbox_id = insert_notification(engine, "k1")
    with engine.begin() as connection:
        outbox_store.claim(connection, outbox_id, START, LEASE)
    with engine.begin() as connection:
        again = outbox_store.claim(connection, outbox_id, START + LEASE + timedelta(seconds=1), LEASE)
    assert again is not None
    assert again.attempts == 2


def test_outbox_due_ids_skip_future_leased_and_sent(engine):
    due = insert_notification(engine, "due")
    future = insert_notification(engine, "future", created_at=START + timedelta(hours=1))
    leased = insert_notification(engine, "leased")
    sent = insert_notification(engine, "sent")
    with engine.begin() as connection:
        outbox_store.claim(connection, leased, START, LEASE)
        outbox_store.claim(connection, sent, START, LEASE)
        outbox_store.mark_sent(connection, sent, START)
    with engine.connect() as connection:
        ids = outbox_store.due_ids(connection, START, limit=10)
    assert ids == [due]
    assert future not in ids


def test_outbox_depth_and_counts(engine):
    insert_notification(engine, "a")
    insert_notification(engine, "b")
    failed = insert_notification(engine, "c")
    with engine.begin() as connection:
        outbox_store.mark_failed(connection, failed, START, "gave up", retryable=False)
    with engine.connect() as connection:
        assert outbox_store.outbox_depth(connection) == 2
        assert outbox_store.count_by_status(connection) == {"pending": 2, "sent": 0, "failed": 1}


def test_outbox_failed_never_overwrites_sent(engine):
    outbox_id = insert_notification(engine, "k1")
    with engine.begin() as connection:
        outbox_store.mark_sent(connection, outbox_id, START)
        outbox_store.mark_failed(connection, outbox_id, START, "late failure", retryable=False)
    assert outbox_row(engine, outbox_id)["status"] == "sent"


def test_sender_sends_and_records_attempt(engine):
    outbox_id = insert_notification(engine, "k1")
    channel = RecordingChannel()
    sender = OutboxSender(engine, {"hook": channel}, FakeClock())

    summary = drain(sender, START)

    assert summary.sent == 1
    assert channel.keys == ["k1"]
    row = outbox_row(engine, outbox_id)
    assert row["status"] == "sent"
    assert as_utc(row["sent_at"]) == START
    assert row["leased_until"] is None
    assert [attempt["ok"] for attempt in attempts_of(engine, outbox_id)] == [True]


def test_sender_backoff_doubles_in_simulated_time(engine):
    outbox_id = insert_notification(engine, "k1")
    errors = [ChannelError("HTTP 503", retryable=True) for _ in range(3)]
    channel = RecordingChannel(errors=errors)
    clock = FakeClock()
    sender = OutboxSender(engine, {"hook": channel}, clock, random=no_jitter)

    expected_delays = [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    for delay in expected_delays:
        summary = drain(sender, clock())
        assert summary.retry == 1
        row = outbox_row(engine, outbox_id)
        assert as_utc(row["next_attempt_at"]) == clock() + delay

        # Not due a second early.
        clock.advance(seconds=delay.total_seconds() - 1)
        assert drain(sender, clock()).total() == 0
        clock.advance(seconds=1)

    summary = drain(sender, clock())
    assert summary.sent == 1
    assert channel.keys == ["k1"]
    attempts = attempts_of(engine, outbox_id)
    assert [attempt["ok"] for attempt in attempts] == [False, False, False, True]
    assert attempts[0]["retryable"] is True
    assert outbox_row(engine, outbox_id)["attempts"] == 4


def test_sender_gives_up_after_max_attempts(engine):
    outbox_id = insert_notification(engine, "k1")
    channel = RecordingChannel(errors=[ChannelError("HTTP 500", retryable=True) for _ in range(5)])
    clock = FakeClock()
    sender = OutboxSender(engine, {"hook": channel}, clock, max_attempts=2, random=no_jitter)

    assert drain(sender, clock()).retry == 1
    clock.advance(minutes=1)
    assert drain(sender, clock()).failed == 1

    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    assert "gave up after 2 attempts" in row["last_error"]
    assert "HTTP 500" in row["last_error"]


def test_sender_gives_up_on_notification_past_max_age(engine):
    outbox_id = insert_notification(engine, "k1")
    channel = RecordingChannel(errors=[ChannelError("timed out", retryable=True)])
    clock = FakeClock(START + timedelta(hours=2))
    policy = RetryPolicy(max_age=timedelta(hours=1))
    sender = OutboxSender(engine, {"hook": channel}, clock, retry_policy=policy)

    assert drain(sender, clock()).failed == 1
    assert "old" in outbox_row(engine, outbox_id)["last_error"]


def test_sender_permanent_error_fails_at_once(engine):
    outbox_id = insert_notification(engine, "k1")
    channel = RecordingChannel(errors=[ChannelError("HTTP 400 Bad Request", retryable=False)])
    sender = OutboxSender(engine, {"hook": channel}, FakeClock())

    assert drain(sender, START).failed == 1
    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    assert attempts_of(engine, outbox_id)[0]["retryable"] is False


def test_sender_retry_after_lengthens_delay(engine):
    outbox_id = insert_notification(engine, "k1")
    channel = RecordingChannel(errors=[ChannelError("HTTP 429", retryable=True, retry_after=600)])
    sender = OutboxSender(engine, {"hook": channel}, FakeClock(), random=no_jitter)

    drain(sender, START)
    assert as_utc(outbox_row(engine, outbox_id)["next_attempt_at"]) == START + timedelta(seconds=600)


def test_sender_unknown_channel_marks_failed(engine):
    outbox_id = insert_notification(engine, "k1", channel="removed-channel")
    sender = OutboxSender(engine, {"hook": RecordingChannel()}, FakeClock())

    assert drain(sender, START).failed == 1
    row = outbox_row(engine, outbox_id)
    assert row["status"] == "failed"
    assert "'removed-channel' is not configured" in row["last_error"]
    assert "hook" in row["last_error"]


def test_sender_unexpected_exception_is_retried(engine):
    outbox_id = insert_notification(engine, "k1")
    channel = RecordingChannel(errors=[KeyError("subject")])
    sender = OutboxSender(engine, {"hook": channel}, FakeClock(), random=no_jitter)

    assert drain(sender, START).retry == 1
    assert "KeyError" in outbox_row(engine, outbox_id)["last_error"]


def test_sender_warns_only_when_error_changes(engine, caplog):
    insert_notification(engine, "k1")
    errors = [
        ChannelError("HTTP 503", retryable=True),
        ChannelError("HTTP 503", retryable=True),
        ChannelError("timed out", retryable=True),
    ]
    clock = FakeClock()
    sender = OutboxSender(engine, {"hook": RecordingChannel(errors=errors)}, clock, random=no_jitter)

    with caplog.at_level(logging.INFO, logger="inboxwatch.notify.sender"):
        for _ in errors:
            drain(sender, clock())
            clock.advance(hours=1)

    retry_records = [record for record in caplog.records if "next attempt" in record.getMessage()]
    assert [record.levelno for record in retry_records] == [logging.WARNING, logging.INFO, logging.WARNING]


def test_sender_two_senders_send_each_row_once(store_url):
    first_engine = open_engine(store_url)
    second_engine = open_engine(store_url, migrate=False)
    keys = ["k%d" % number for number in range(12)]
    for key in keys:
        insert_notification(first_engine, key)
    first_channel, second_channel = RecordingChannel(), RecordingChannel()
    first = OutboxSender(first_engine, {"hook": first_channel}, FakeClock(), batch_size=5)
    second = OutboxSender(second_engine, {"hook": second_channel}, FakeClock(), batch_size=5)

    async def drain_both():
        return await asyncio.gather(first.drain_once(START), second.drain_once(START))

    summaries = asyncio.run(drain_both())

    sent_keys = first_channel.keys + second_channel.keys
    assert sorted(sent_keys) == sorted(keys)
    assert sum(summary.sent for summary in summaries) == len(keys)
    # Both senders selected some of the same rows; the lease gave each to one.
    assert sum(summary.skipped for summary in summaries) > 0
    first_engine.dispose()
    second_engine.dispose()


@pytest.mark.parametrize(
    "attempts, expected_seconds",
    [
        pytest.param(1, 30, id="first-retry"),
        pytest.param(2, 60, id="second-retry"),
        pytest.param(7, 1920, id="seventh-retry"),
        pytest.param(8, 3600, id="capped"),
        pytest.param(200, 3600, id="far-past-cap"),
    ],
)
def test_retry_policy_backoff_doubles_to_cap(attempts, expected_seconds):
    assert RetryPolicy().backoff(attempts, no_jitter) == timedelta(seconds=expected_seconds)


def test_retry_policy_jitter_only_shortens():
    policy = RetryPolicy(jitter=0.2)
    assert policy.backoff(1, lambda: 0.999) > timedelta(seconds=24)
    assert policy.backoff(1, lambda: 0.999) <= timedelta(seconds=30)


def test_retry_policy_rejects_bad_limits():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


def test_sender_unfinished_attempts_fail_row(engine):
    outbox_id = insert_notification(engine, "k1")
    clock = FakeClock()
    # Two claims whose senders died before recording an outcome.
    for _ in range(2):
        with engine.begin() as connection:
            outbox_store.claim(connection, outbox_id, clock(), LEASE)
        clock.advance(seconds=LEASE.total_seconds() + 1)
    channel = RecordingChannel()
    sender = OutboxSender(engine, {"hook": channel}, clock, max_attempts=2)

    assert drain(sender, clock()).failed == 1
    assert channel.keys == []
    assert "never finished" in outbox_row(engine, outbox_id)["last_error"]
