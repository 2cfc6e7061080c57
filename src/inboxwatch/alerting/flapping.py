"""Flap detection: an alert whose fingerprint changes state too often is held firing instead of resolving.

A state change is a fire, a resolve, or (while an alert is held) a change
of its condition between breached and clear. When resolving would make
more than `max_changes` state changes of the fingerprint within `window`,
the alert stays firing and is marked flapping, so the channels hear one
firing and one resolve instead of a stream of both. It resolves once
resolving no longer crosses that limit, that is once enough of the changes
have aged out of the window. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

DEFAULT_MAX_CHANGES = 6
DEFAULT_WINDOW = timedelta(hours=1)


@dataclasses.dataclass(frozen=True)
class FlapSettings:
    """`max_changes` of 0 turns flap detection off."""

    max_changes: int = DEFAULT_MAX_CHANGES
    window: timedelta = DEFAULT_WINDOW

    @property
    def enabled(self) -> bool:
        return self.max_changes > 0


def recent(changes: Iterable[datetime], now: datetime, settings: FlapSettings) -> tuple[datetime, ...]:
    """Keep the changes inside the window that ends at `now`, oldest first."""
    start = now - settings.window
    return tuple(sorted(change for change in changes if change > start))


def would_flap(changes: Iterable[datetime], now: datetime, settings: FlapSettings) -> bool:
    """Tell whether one more state change at `now` would exceed the limit."""
    if not settings.enabled:
        return False
    return len(recent(changes, now, settings)) + 1 > settings.max_changes
