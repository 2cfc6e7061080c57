"""Escalation: notify the next level of a frozen policy while a firing alert stays unacknowledged.

The policy is copied onto the alert when it fires (`Alert.escalation`), so
edits of the configuration during an incident change nothing for it.
Acknowledging the alert stops escalation. A silenced or inhibited alert is
not escalated while it is muted. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from inboxwatch.model.alerts import Alert, AlertState, EscalationLevel, EscalationSnapshot


@dataclasses.dataclass(frozen=True)
class Escalation:
    """A level that has become due: its number (1 is the first level) and what it notifies."""

    alert: Alert
    number: int
    level: EscalationLevel


def due_levels(alert: Alert, now: datetime) -> list[Escalation]:
    """List the levels of the alert's policy that are due at `now` and not yet notified.

    Several levels are due at once only after a stop longer than the gap
    between them; each is notified, since each reaches different people.
    """
    if alert.state != AlertState.FIRING or alert.escalation is None or alert.fired_at is None or alert.muted:
        return []
    unacknowledged_for = now - alert.fired_at
    due = []
    for index, level in enumerate(alert.escalation.levels):
        if index < alert.escalation_level:
            continue
        if unacknowledged_for < level.after:
            break
        due.append(Escalation(alert, index + 1, level))
    return due


def snapshot(policy_name: str | None, policies: Mapping[str, EscalationSnapshot]) -> EscalationSnapshot | None:
    """Return the policy to freeze onto an alert, or None when the route names none (or one no longer configured)."""
    if policy_name is None:
        return None
    return policies.get(policy_name)
