"""Acknowledge and resolve notifications for the channels an alert reached through escalation.

An escalation notification goes to the level's channels with the group key
of the alert's first route, and a receiver that deduplicates by that key
(PagerDuty) opens an incident for it. The route's own acknowledge and
resolve notifications only reach the route's channels, so this module
reads the escalation rows of the outbox and sends the same reason to each
of those channels, with the group key the trigger carried.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.model.alerts import OPEN_STATES
from inboxwatch.store.db import as_utc
from inboxwatch.store.outbox import insert_if_new
from inboxwatch.store.schema import alerts as alerts_table
from inboxwatch.store.schema import outbox

log = logging.getLogger(__name__)

ESCALATION_REASON = "escalation"


def escalation_targets(conn: sa.Connection, alert_id: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    """List (channel, group key, payload) of the escalation notifications written for the alert, one per channel and key."""
    query = (
        sa.select(outbox.c.channel, outbox.c.payload)
        .where(outbox.c.alert_id == alert_id, outbox.c.reason == ESCALATION_REASON)
        .order_by(outbox.c.id)
    )
    targets: dict[tuple[str, str | None], dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        payload = dict(row["payload"] or {})
        targets.setdefault((row["channel"], payload.get("group_key")), payload)
    return [(channel, key, payload) for (channel, key), payload in targets.items()]


def still_escalated_elsewhere(conn: sa.Connection, alert_id: int, channel: str, group_key: str | None) -> bool:
    """Tell whether another open alert was escalated to `channel` under the same group key.

    Resolving that key then would close an incident that another alert
    still keeps open, so the resolve is left for the last of them.
    """
    if group_key is None:
        return False
    open_states = [state.value for state in OPEN_STATES]
    query = (
        sa.select(outbox.c.payload)
        .select_from(outbox.join(alerts_table, alerts_table.c.id == outbox.c.alert_id))
        .where(
            outbox.c.reason == ESCALATION_REASON,
            outbox.c.channel == channel,
            outbox.c.alert_id != alert_id,
            alerts_table.c.state.in_(open_states),
        )
    )
    return any((row["payload"] or {}).get("group_key") == group_key for row in conn.execute(query).mappings())


def enqueue_escalation_followups(
    conn: sa.Connection,
    alert_id: int,
    reason: str,
    payload: Mapping[str, Any],
    time: datetime,
    *,
    skip: Sequence[tuple[str, str | None]] = (),
) -> int:
    """Write `reason` (acknowledged or resolved) to every channel the alert was escalated to; return the rows written.

    `payload` is the alert's own notification payload. Each row carries the
    group key, labels and route of the escalation it follows. `skip` lists
    (channel, group key) pairs the caller already notified. A resolve is
    held back on a key that another open alert was escalated under.
    """
    written = 0
    for channel, group_key, escalation in escalation_targets(conn, alert_id):
        if (channel, group_key) in skip:
            continue
        if reason == "resolved" and still_escalated_elsewhere(conn, alert_id, channel, group_key):
            log.info("alert %d resolved: %s keeps its escalation open for other alerts of group %s", alert_id, channel, group_key)
            continue
        row_payload = {
            **payload,
            "group_key": group_key,
            "group_labels": escalation.get("group_labels"),
            "route": escalation.get("route"),
            "escalation_level": escalation.get("escalation_level"),
            "alerts": [dict(payload)],
        }
        parts = ["escalation-followup", str(alert_id), reason, as_utc(time).isoformat(), channel, group_key or ""]
        key = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
        if insert_if_new(
            conn, alert_id=alert_id, channel=channel, reason=reason, payload=row_payload, idempotency_key=key, now=time
        ):
            written += 1
    if written:
        log.info("alert %d %s: notified %d escalation channels", alert_id, reason, written)
    return written
