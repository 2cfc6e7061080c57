"""Mute stages: the steps that decide, before grouping, which open alerts are not notified.

Every stage has the same interface: given the open alerts and the time, it
returns the alerts it mutes with the ids of what mutes them (silence ids,
or fingerprints of inhibiting alerts). `apply_stages` writes those marks
onto the alerts and returns, for each alert whose marks changed, the reason
to record. A muted alert keeps its state. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from inboxwatch.model.alerts import Alert


class Stage(Protocol):
    """One mute stage. `field` is the Alert attribute its marks go in."""

    name: str
    field: str

    def marks(self, alerts: Sequence[Alert], now: datetime) -> Mapping[str, tuple]:
        """Return, by fingerprint, the ids muting each alert this stage mutes."""
        ...


@dataclasses.dataclass(frozen=True)
class MuteChange:
    """An alert whose mute marks changed in this cycle, and why, for history and the decision log."""

    fingerprint: str
    reason: str


def apply_stages(alerts: Sequence[Alert], stages: Sequence[Stage], now: datetime) -> tuple[list[Alert], list[MuteChange]]:
    """Run every stage over `alerts` and return the alerts with their new marks, and the changes."""
    marks_by_stage = [(stage, stage.marks(alerts, now)) for stage in stages]
    updated: list[Alert] = []
    changes: list[MuteChange] = []
    for alert in alerts:
        new_alert = alert
        reasons = []
        for stage, marks in marks_by_stage:
            marked = tuple(marks.get(alert.fingerprint, ()))
            if marked != getattr(alert, stage.field):
                new_alert = new_alert.replace(**{stage.field: marked})
                reasons.append(describe(stage.name, marked))
        updated.append(new_alert)
        if reasons:
            changes.append(MuteChange(alert.fingerprint, "; ".join(reasons)))
    return updated, changes


def describe(stage: str, marked: tuple) -> str:
    if not marked:
        return "no longer %s" % stage
    shown = ", ".join(str(item)[:12] for item in marked)
    return "suppressed: %s by %s" % (stage, shown)
