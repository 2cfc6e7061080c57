"""When to try a failed notification again, and when to give up. No I/O."""

from __future__ import annotations

import dataclasses
import random as random_module
from collections.abc import Callable
from datetime import datetime, timedelta

from inboxwatch.errors import ChannelError


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    """The next step for a notification after a failed attempt.

    `next_attempt_at` is None when `give_up` is true; `reason` is written to
    the log and to the outbox row.
    """

    give_up: bool
    next_attempt_at: datetime | None
    reason: str


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and by age.

    The delay after attempt n is `initial_delay * 2**(n-1)`, capped at
    `max_delay`, then shortened by up to `jitter` (a fraction) at random so
    that notifications that failed together do not all retry together.
    With the defaults the delays run 30 s, 1 min, 2 min, ... 32 min, then 1 h.
    """

    initial_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 10
    max_age: timedelta = timedelta(hours=24)
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial_delay <= timedelta(0) or self.max_delay < self.initial_delay:
            raise ValueError(
                "invalid retry delays %s and %s: expected 0 < initial_delay <= max_delay"
                % (self.initial_delay, self.max_delay)
            )
        if self.max_attempts < 1:
            raise ValueError("invalid max_attempts %d: expected at least 1" % self.max_attempts)
        if not 0 <= self.jitter < 1:
            raise ValueError("invalid jitter %r: expected a fraction from 0 up to (not including) 1" % self.jitter)

    def backoff(self, attempts: int, random: Callable[[], float] = random_module.random) -> timedelta:
        """Return the delay after the `attempts`-th failed attempt (counting from 1)."""
        exponent = max(attempts - 1, 0)
        # Compare before multiplying, so a large exponent cannot overflow timedelta.
        if exponent >= 64 or self.initial_delay * (2**exponent) > self.max_delay:
            delay = self.max_delay
        else:
            delay = self.initial_delay * (2**exponent)
        return delay * (1 - self.jitter * random())

    def decide(
        self,
        error: ChannelError,
        attempts: int,
        created_at: datetime,
        now: datetime,
        random: Callable[[], float] = random_module.random,
    ) -> RetryDecision:
        """Decide the next step after attempt number `attempts` failed with `error`.

        A receiver's Retry-After (`error.retry_after`) lengthens the delay but
        never shortens it.
        """
        if not error.retryable:
            return RetryDecision(True, None, "permanent error")
        if attempts >= self.max_attempts:
            return RetryDecision(True, None, "gave up after %d attempts" % attempts)
        age = now - created_at
        if age >= self.max_age:
            return RetryDecision(True, None, "gave up: notification is %s old, limit %s" % (age, self.max_age))

        delay = self.backoff(attempts, random)
        if error.retry_after is not None:
            delay = max(delay, timedelta(seconds=error.retry_after))
        return RetryDecision(False, now + delay, "retry in %ds" % delay.total_seconds())
