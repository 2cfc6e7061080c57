"""Silences: matchers with a start and an end that mute the alerts they match. Pure: no I/O."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from inboxwatch.model.matchers import Matcher, memoized_matcher
from inboxwatch.model.alerts import OPEN_STATES, Alert


@dataclasses.dataclass(frozen=True)
class Silence:
    """A silence as stored; it mutes matching alerts from `starts_at` until before `ends_at`."""

    id: int | None
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        """Tell whether the silence mutes an evaluation at `now`.

        Evaluation times are whole minutes, so the start is taken down to
        its minute: a silence added at 23:46:10 mutes the evaluation of
        23:46, the first one after it was made.
        """
        return self.starts_at.replace(second=0, microsecond=0) <= now < self.ends_at

    def status(self, now: datetime) -> str:
        return silence_status(self.starts_at, self.ends_at, now)


def silence_status(starts_at: datetime, ends_at: datetime, now: datetime) -> str:
    """Return `pending` before the start, `active` until before the end, then `expired`."""
    if now < starts_at:
        return "pending"
    return "active" if now < ends_at else "expired"


@dataclasses.dataclass(frozen=True)
class SilenceStage:
    """The mute stage for silences: marks each open alert with the ids of the active silences matching it."""

    silences: Sequence[Silence]
    name: str = "silenced"
    field: str = "silenced_by"

    def marks(self, alerts: Sequence[Alert], now: datetime) -> Mapping[str, tuple[int, ...]]:
        active = [silence for silence in self.silences if silence.active(now)]
        found: dict[str, tuple[int, ...]] = {}
        if not active:
            return found
        matchers = [(silence.id, memoized_matcher(silence.matchers)) for silence in active if silence.id is not None]
        for alert in alerts:
            if alert.state not in OPEN_STATES:
                continue
            labels = alert.match_labels()
            ids = tuple([silence_id for silence_id, matches in matchers if matches(labels)])
            if ids:
                found[alert.fingerprint] = ids
        return found
