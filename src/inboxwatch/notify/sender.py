"""The outbox sender: claims due notifications, sends them and records the outcome."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import random as random_module
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from inboxwatch.errors import ChannelError
from inboxwatch.notify.notification import Channel, Notification
from inboxwatch.notify.retry import RetryPolicy
from inboxwatch.store import outbox as outbox_store
from inboxwatch.store.db import as_utc

log = logging.getLogger(__name__)

# A lease must outlast the slowest send; channel timeouts are at most 300 s.
DEFAULT_LEASE = timedelta(minutes=10)

# A send is abandoned when half the lease has passed, so the row is settled
# before another sender may take the lease over.
SEND_SHARE_OF_LEASE = 0.5

DEFAULT_BATCH_SIZE = 100
DEFAULT_POLL_INTERVAL = 5.0


class Outcome(str, enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclasses.dataclass
class DrainSummary:
    """Counts of what one drain did. `skipped` rows were claimed by another sender first."""

    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def total(self) -> int:
        return self.sent + self.retry + self.failed + self.skipped


class DeliveryObserver(Protocol):
    """Told about each notification's final outcome, after the outcome is committed.

    The service uses it to raise an operator alert when a channel gives up
    on a notification, and to resolve that alert once the channel delivers
    again. The notify layer does not decide about alerts itself.
    """

    def notification_failed(self, row: outbox_store.OutboxRow, error: str, now: datetime) -> None: ...

    def notification_sent(self, row: outbox_store.OutboxRow, now: datetime) -> None: ...


class OutboxSender:
    """Drains the outbox to channels, at least once per notification.

    `channels_by_name` maps the names used in `outbox.channel` to channels.
    `clock` returns the current time as an aware datetime. `max_attempts`,
    when given, overrides the retry policy's limit. `observer`, when given,
    hears of every notification marked sent or failed.
    """

    def __init__(
        self,
        engine: sa.Engine,
        channels_by_name: Mapping[str, Channel],
        clock: Callable[[], datetime],
        *,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int | None = None,
        retry_policy: RetryPolicy = RetryPolicy(),
        batch_size: int = DEFAULT_BATCH_SIZE,
        random: Callable[[], float] = random_module.random,
        observer: DeliveryObserver | None = None,
    ) -> None:
        if lease <= timedelta(0):
            raise ValueError("invalid lease %s: expected a positive duration" % lease)
        self.engine = engine
        self.channels_by_name = dict(channels_by_name)
        self.clock = clock
        self.lease = lease
        self.retry_policy = (
            dataclasses.replace(retry_policy, max_attempts=max_attempts) if max_attempts is not None else retry_policy
        )
        self.batch_size = batch_size
        self.random = random
        self.observer = observer

    async def drain_once(self, now: datetime | None = None) -> DrainSummary:
        """Send every notification due at `now` (the clock's time by default) and return the counts.

        Due rows are selected with `now`. Each claim and outcome is stamped
        with the clock's time when it happens, so a long drain cannot
        shorten a lease.
        """
        now = as_utc(now or self.clock())
        summary = DrainSummary()
        while True:
            with self.engine.begin() as connection:
                ids = outbox_store.due_ids(connection, now, self.batch_size)
            if not ids:
                break
            claimed_before = summary.total() - summary.skipped
            for outbox_id in ids:
                summary.add(await self.process(outbox_id))
            # Stop when a whole batch went to other senders, rather than
            # selecting the same rows again.
            if summary.total() - summary.skipped == claimed_before:
                break
        return summary

    async def run(self, stop: asyncio.Event, poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        """Drain every `poll_interval` seconds until `stop` is set."""
        log.info("outbox sender started with channels %s", ", ".join(sorted(self.channels_by_name)) or "(none)")
        while not stop.is_set():
            try:
                summary = await self.drain_once()
            except SQLAlchemyError as exc:
                log.error("outbox drain failed: %s; retrying in %ss", exc, poll_interval)
            else:
                if summary.total():
                    log.info(
                        "outbox drained: %d sent, %d to retry, %d failed, %d skipped",
                        summary.sent,
                        summary.retry,
                        summary.failed,
                        summary.skipped,
                    )
            try:
                await asyncio.wait_for(stop.wait(), poll_interval)
            except TimeoutError:
                pass
        log.info("outbox sender stopped")

    async def process(self, outbox_id: int) -> Outcome:
        """Claim one row, send it and record the outcome."""
        # NOTE: the database calls are synchronous and block the event loop
        # briefly; each is one short transaction.
        with self.engine.begin() as connection:
            row = outbox_store.claim(connection, outbox_id, self.now(), self.lease)
        if row is None:
            log.debug("outbox %d: claimed by another sender", outbox_id)
            return Outcome.SKIPPED

        channel = self.channels_by_name.get(row.channel)
        if channel is None:
            return self.fail_unknown_channel(row)
        if row.attempts > self.retry_policy.max_attempts:
            return self.fail_unfinished_attempts(row)

        notification = Notification(
            channel=row.channel,
            reason=row.reason,
            idempotency_key=row.idempotency_key,
            payload=row.payload,
            created_at=row.created_at,
            outbox_id=row.id,
        )
        log.info("outbox %d: sending via channel %s, attempt %d", row.id, row.channel, row.attempts)
        error = await self.send(channel, notification)
        if error is None:
            sent_at = self.now()
            with self.engine.begin() as connection:
                outbox_store.mark_sent(connection, row.id, sent_at)
            log.info("outbox %d: sent via channel %s", row.id, row.channel)
            self.notify_observer(row, None, sent_at)
            return Outcome.SENT
        return self.settle_failure(row, error)

    async def send(self, channel: Channel, notification: Notification) -> ChannelError | None:
        """Send through the channel, turning every failure into a ChannelError."""
        limit = self.lease.total_seconds() * SEND_SHARE_OF_LEASE
        try:
            async with asyncio.timeout(limit):
                await channel.send(notification)
        except ChannelError as exc:
            return exc
        except TimeoutError:
            return ChannelError("send did not finish within %ds (half the lease)" % limit, retryable=True)
        except Exception as exc:
            # A bug in a channel must not stop the drain; the row is retried
            # like any other failure and the traceback goes to the log.
            log.exception("outbox %s: channel %s raised an unexpected error", notification.outbox_id, channel.name)
            return ChannelError("unexpected %s in channel: %s" % (type(exc).__name__, exc), retryable=True)
        return None

    def settle_failure(self, row: outbox_store.OutboxRow, error: ChannelError) -> Outcome:
        finished_at = self.now()
        decision = self.retry_policy.decide(error, row.attempts, row.created_at, finished_at, self.random)
        message = str(error)
        if decision.give_up:
            with self.engine.begin() as connection:
                outbox_store.mark_failed(
                    connection, row.id, finished_at, "%s (%s)" % (message, decision.reason), error.retryable
                )
            log.error(
                "outbox %d: channel %s failed, not retrying (%s): %s", row.id, row.channel, decision.reason, message
            )
            self.notify_observer(row, message, finished_at)
            return Outcome.FAILED

        assert decision.next_attempt_at is not None
        with self.engine.begin() as connection:
            outbox_store.schedule_retry(connection, row.id, finished_at, decision.next_attempt_at, message)
        # Warn once per distinct error; repeats of the same error log at info.
        level = logging.INFO if message == row.last_error else logging.WARNING
        log.log(
            level,
            "outbox %d: channel %s failed on attempt %d, next attempt at %s: %s",
            row.id,
            row.channel,
            row.attempts,
            decision.next_attempt_at.isoformat(),
            message,
        )
        return Outcome.RETRY

    def fail_unknown_channel(self, row: outbox_store.OutboxRow) -> Outcome:
        configured = ", ".join(sorted(self.channels_by_name)) or "none"
        message = "channel %r is not configured (configured channels: %s); add it back to send this notification" % (
            row.channel,
            configured,
        )
        failed_at = self.now()
        with self.engine.begin() as connection:
            outbox_store.mark_failed(connection, row.id, failed_at, message, None)
        log.error("outbox %d: %s", row.id, message)
        self.notify_observer(row, message, failed_at)
        return Outcome.FAILED

    def fail_unfinished_attempts(self, row: outbox_store.OutboxRow) -> Outcome:
        # Claims count as attempts, and the last attempts left no outcome:
        # each sender holding the row stopped mid-send (killed, or crashed
        # by this notification), so sending again may crash again.
        message = "gave up after %d attempts; the last ones never finished, so a sender may have crashed on it" % (
            row.attempts - 1
        )
        failed_at = self.now()
        with self.engine.begin() as connection:
            outbox_store.mark_failed(connection, row.id, failed_at, message, None)
        log.error("outbox %d: channel %s: %s", row.id, row.channel, message)
        self.notify_observer(row, message, failed_at)
        return Outcome.FAILED

    def notify_observer(self, row: outbox_store.OutboxRow, error: str | None, now: datetime) -> None:
        """Pass a final outcome (`error` None for sent) to the observer.

        The outcome is already committed, so an observer that fails loses
        only its own record (the operator alert), never the notification's;
        the error is logged and the drain goes on.
        """
        if self.observer is None:
            return
        try:
            if error is None:
                self.observer.notification_sent(row, now)
            else:
                self.observer.notification_failed(row, error, now)
        except Exception:
            # The observer writes alerts through another layer; whatever it
            # raises must not stop the delivery of other notifications.
            log.exception("outbox %d: recording the outcome for channel %s as an alert failed", row.id, row.channel)

    def now(self) -> datetime:
        return as_utc(self.clock())
