"""The notification log: what was last sent to each notification group, so a restart neither repeats nor loses a notification."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from inboxwatch.model.alerts import RouteSnapshot


@dataclasses.dataclass(frozen=True)
class GroupLogEntry:
    """The stored state of one group: a route and the values of its `group_by` labels.

    `first_active_at` is when the group got its first firing alert of the
    current incident, which starts `group_wait`; it is None while the group
    has nothing firing. `sent_firing` maps the fingerprints last notified as
    firing to the severity they had then. `last_decision` is the reason of
    the last recorded decision, so a wait that lasts several cycles is
    recorded once.
    """

    group_key: str
    route: RouteSnapshot
    group_labels: Mapping[str, str]
    first_active_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_reason: str | None = None
    sent_firing: Mapping[str, str] = dataclasses.field(default_factory=dict)
    last_decision: str | None = None
