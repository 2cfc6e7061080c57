"""The notification a channel sends, and its default one-line subject."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

# Subject tags by outbox reason. A repeat reminder is still a firing alert.
REASON_TAGS = {
    "firing": "FIRING",
    "repeat": "FIRING",
    "resolved": "RESOLVED",
    "acknowledged": "ACKNOWLEDGED",
    "test": "TEST",
}


@dataclasses.dataclass(frozen=True)
class Notification:
    """One message about one alert, or one group of alerts, for one channel.

    `payload` is what the alerting layer wrote into the outbox: one alert's
    rule, severity, state, labels, summary, value, threshold, times and ids,
    or a group with such alerts under `alerts` (see `notify.alertgroup`).
    `idempotency_key` is the same on every attempt, so a receiver can drop
    a notification it has already seen. `outbox_id` is None for a
    notification that is not in the outbox (`inboxwatch notify test`).
    """

    channel: str
    reason: str
    idempotency_key: str
    payload: Mapping[str, Any]
    created_at: datetime
    outbox_id: int | None = None

    def subject(self) -> str:
        """Build the one-line title, such as `[FIRING critical] Microsoft bounce rate 12.5% over 10%`."""
        tag = REASON_TAGS.get(self.reason, self.reason.upper())
        severity = self.payload.get("severity")
        prefix = "[%s %s]" % (tag, severity) if severity else "[%s]" % tag
        return "%s %s" % (prefix, self.headline())

    def headline(self) -> str:
        """Return the alert's summary, or the rule and labels when it has none."""
        summary = str(self.payload.get("summary") or "").strip()
        if summary:
            return summary
        rule = str(self.payload.get("rule") or "alert")
        labels = format_labels(self.labels())
        return "%s %s" % (rule, labels) if labels else rule

    def labels(self) -> Mapping[str, Any]:
        labels = self.payload.get("labels")
        return labels if isinstance(labels, Mapping) else {}


class Channel(Protocol):
    """A destination for notifications.

    `send` returns once the receiver has accepted the notification and
    raises `ChannelError` otherwise, with `retryable` telling whether the
    same notification may succeed later. The channel never retries by
    itself: `OutboxSender` and `RetryPolicy` decide that.
    """

    name: str

    async def send(self, notification: Notification) -> None: ...

    def preview(self, notification: Notification) -> str:
        """Return what `send` would transmit (a request body, a MIME message), without sending."""
        ...


def format_labels(labels: Mapping[str, Any]) -> str:
    return ", ".join("%s=%s" % (key, value) for key, value in sorted(labels.items()))
