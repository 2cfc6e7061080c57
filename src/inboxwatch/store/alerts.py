"""Alert queries: open alerts by fingerprint, saving lifecycle changes, history and outbox rows.

Every change to an alert is written with its `alert_history` entry and its
outbox rows in the caller's transaction, so a notification exists exactly
when the change that caused it was committed. All times are UTC.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inboxwatch.errors import InboxwatchError
from inboxwatch.model.alert_groups import alert_group_keys
from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState, Severity
from inboxwatch.store.alert_snapshots import escalation_from_json, escalation_to_json, route_from_json, route_to_json
from inboxwatch.store.db import as_utc
from inboxwatch.store.escalated import enqueue_escalation_followups
from inboxwatch.store.outbox import insert_if_new
from inboxwatch.store.schema import alert_history as history_table
from inboxwatch.store.schema import alerts as alerts_table

log = logging.getLogger(__name__)

# Annotation keys under which the alert's own fields are kept in the
# `annotations` JSON column, next to the evaluator's annotations.
SUMMARY_KEY = "summary"
CHANNELS_KEY = "channels"
REPEAT_KEY = "repeat_interval_seconds"
ROUTES_KEY = "routes"
ROUTE_SNAPSHOTS_KEY = "route_snapshots"
CLEAR_SINCE_KEY = "clear_since"
STATE_CHANGES_KEY = "state_changes"
FLAPPING_KEY = "flapping"
SILENCED_KEY = "silenced_by"
INHIBITED_KEY = "inhibited_by"
ESCALATION_KEY = "escalation"
ESCALATION_LEVEL_KEY = "escalation_level"
OWN_KEYS = frozenset(
    (
    SUMMARY_KEY,
    CHANNELS_KEY,
    REPEAT_KEY,
    ROUTES_KEY,
    ROUTE_SNAPSHOTS_KEY,
    CLEAR_SINCE_KEY,
    STATE_CHANGES_KEY,
    FLAPPING_KEY,
    SILENCED_KEY,
    INHIBITED_KEY,
    ESCALATION_KEY,
    ESCALATION_LEVEL_KEY,
    )
)


class AlertNotFoundError(InboxwatchError):
    """No alert has the requested id."""


class AlertStateError(InboxwatchError):
    """The alert is in a state that does not allow the requested change."""


def open_alerts(conn: sa.Connection, tenant: str | None = None) -> dict[str, Alert]:
    """Return the pending, firing and acknowledged alerts keyed by fingerprint.

    The JSON columns are read as text, and each row is decoded through
    `decode_open_row`, a cache keyed by every column but `last_evaluated_at`.
    """
    columns = [
        sa.cast(column, sa.Text).label(column.name) if column.name in JSON_COLUMNS else column
        for column in alerts_table.c
        if column.name != "last_evaluated_at"
    ]
    query = sa.select(*columns, alerts_table.c.last_evaluated_at)
    query = query.where(alerts_table.c.state.in_([state.value for state in OPEN_STATES]))
    if tenant is not None:
        query = query.where(alerts_table.c.tenant == tenant)
    found: dict[str, Alert] = {}
    for row in conn.execute(query.order_by(alerts_table.c.id)):
        values = tuple(row)
        cached = decode_open_row(values[:-1])
        fields = cached.copy()
        # Copies of the two dicts, because the cached ones are shared by
        # every alert decoded from the same row.
        fields["labels"] = dict(fields["labels"])
        fields["annotations"] = dict(fields["annotations"])
        fields["last_evaluated_at"] = as_utc(values[-1])
        alert = Alert.from_fields(fields)
        if alert.fingerprint in found:
            # Only a concurrent writer outside the service could cause this; the newer row wins.
            log.warning("fingerprint %s has more than one open alert; using alert %s", alert.fingerprint, alert.id)
        found[alert.fingerprint] = alert
    return found


def save_alert(conn: sa.Connection, alert: Alert) -> Alert:
    """Insert a new alert (id None) or update a stored one; return it with its id."""
    values = alert_values(alert)
    if alert.id is None:
        new_id = conn.execute(alerts_table.insert().values(**values)).inserted_primary_key[0]
        return alert.replace(id=new_id)
    conn.execute(alerts_table.update().where(alerts_table.c.id == alert.id).values(**values))
    return alert


def record_transition(
    conn: sa.Connection,
    alert_id: int,
    time: datetime,
    from_state: AlertState | None,
    to_state: AlertState,
    note: str | None,
    actor: str | None = None,
) -> None:
    """Append one entry to `alert_history`. `actor` is None for changes made by the evaluator."""
    conn.execute(
        history_table.insert().values(
            alert_id=alert_id,
            time=as_utc(time),
            from_state=from_state.value if from_state else None,
            to_state=to_state.value,
            actor=actor,
            note=note,
        )
    )


def enqueue_notifications(conn: sa.Connection, alert: Alert, reason: str, time: datetime) -> int:
    """Write one outbox row per channel of `alert` for `reason` at `time`; return how many were new.

    An alert that fired is notified once per route it fired with, to that
    route's channels, and the payload carries the route's `group_key` and
    `group_labels`. That way a receiver which deduplicates by group (such as
    PagerDuty) reaches the incident the group notification opened. An alert
    without routes goes to `alert.channels` with no group key. Channels the
    alert was escalated to get the notification too, with the escalation's
    group key (`store.escalated`). A row whose
    idempotency key is already stored is skipped, so replaying an
    evaluation that was committed before writes nothing twice.
    """
    if alert.id is None:
        raise ValueError("enqueue_notifications got an unsaved alert: call save_alert first")
    payload = notification_payload(alert, reason, time)
    targets: list[tuple[str | None, tuple[str, ...], dict[str, Any]]] = []
    for group in alert_group_keys(alert):
        group_payload = {
            **payload,
            "group_key": group.key,
            "group_labels": group.labels,
            "route": group.route.route,
            "alerts": [payload],
        }
        targets.append((group.key, group.route.channels, group_payload))
    if not targets:
        targets.append((None, alert.channels, payload))

    written = 0
    for key_of_group, channels, target_payload in targets:
        for channel in channels:
            key = idempotency_key(alert.id, reason, time, channel, key_of_group)
            if insert_if_new(
                conn, alert_id=alert.id, channel=channel, reason=reason, payload=target_payload, idempotency_key=key, now=time
            ):
                written += 1
    notified = [(channel, key_of_group) for key_of_group, channels, _payload in targets for channel in channels]
    written += enqueue_escalation_followups(conn, alert.id, reason, payload, time, skip=notified)
    if not any(channels for _key, channels, _payload in targets):
        log.info("alert %s has no channels to notify of %s: no channel is configured", alert.id, reason)
    return written


def idempotency_key(alert_id: int, reason: str, time: datetime, channel: str, group_key: str | None = None) -> str:
    """Return sha256 hex of alert id, reason, transition time, channel and, when given, group key.

    The channel is part of the key because `outbox.idempotency_key` is
    unique per row and one notification has one row per channel. The group
    key is added because a channel on two routes gets one row per group.
    Without a group key the key is what it was before group keys existed.
    """
    parts = [str(alert_id), reason, as_utc(time).isoformat(), channel]
    if group_key is not None:
        parts.append(group_key)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def notification_payload(alert: Alert, reason: str, time: datetime) -> dict[str, Any]:
    """Build the JSON payload of an outbox row: what a channel needs to render the notification."""
    return {
        "alert_id": alert.id,
        "fingerprint": alert.fingerprint,
        "reason": reason,
        "time": iso(time),
        "rule": alert.rule,
        "tenant": alert.tenant,
        "labels": dict(alert.labels),
        "severity": alert.severity.value,
        "state": alert.state.value,
        "summary": alert.summary,
        "value": alert.value,
        "threshold": alert.threshold,
        "denominator": alert.denominator,
        "pending_since": iso(alert.pending_since),
        "fired_at": iso(alert.fired_at),
        "resolved_at": iso(alert.resolved_at),
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "ack_note": alert.ack_note,
        "routes": list(alert.routes),
    }


def list_alerts(
    conn: sa.Connection,
    states: Sequence[AlertState | str] = OPEN_STATES,
    tenant: str | None = None,
    limit: int = 100,
) -> list[Alert]:
    """List alerts in `states` (open ones by default), newest first, at most `limit`."""
    values = [AlertState(state).value for state in states]
    query = sa.select(alerts_table).where(alerts_table.c.state.in_(values))
    if tenant is not None:
        query = query.where(alerts_table.c.tenant == tenant)
    query = query.order_by(alerts_table.c.pending_since.desc(), alerts_table.c.id.desc()).limit(limit)
    return [alert_from_row(row) for row in conn.execute(query).mappings()]


def get_alert(conn: sa.Connection, alert_id: int) -> Alert | None:
    """Return the alert with `alert_id`, or None when there is none."""
    row = conn.execute(sa.select(alerts_table).where(alerts_table.c.id == alert_id)).mappings().first()
    return alert_from_row(row) if row is not None else None


def alert_history(conn: sa.Connection, alert_id: int) -> list[dict[str, Any]]:
    """List the alert's history entries oldest first: time, from_state, to_state, actor, note."""
    query = sa.select(history_table).where(history_table.c.alert_id == alert_id).order_by(history_table.c.id)
    entries = []
    for row in conn.execute(query).mappings():
        entries.append(
            {
                "time": as_utc(row["time"]),
                "from_state": row["from_state"],
                "to_state": row["to_state"],
                "actor": row["actor"],
                "note": row["note"],
            }
        )
    return entries


def acknowledge(conn: sa.Connection, alert_id: int, by: str, note: str | None, now: datetime) -> Alert:
    """Mark a firing alert acknowledged by `by`, which stops its repeat notifications.

    The alert's channels receive an `acknowledged` notification.
    Raises AlertNotFoundError for an unknown id and AlertStateError unless
    the alert is firing.
    """
    alert = require_alert(conn, alert_id)
    if alert.state != AlertState.FIRING:
        raise AlertStateError(
            "cannot acknowledge alert %d: it is %s, and only a firing alert can be acknowledged" % (alert_id, alert.state.value)
        )
    changed = alert.replace(
        state=AlertState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=by, ack_note=note, last_notified_at=now
    )
    update_if_state(conn, changed, expected=AlertState.FIRING)
    record_transition(conn, alert_id, now, AlertState.FIRING, AlertState.ACKNOWLEDGED, note, actor=by)
    enqueue_notifications(conn, changed, "acknowledged", now)
    log.info("alert %d acknowledged by %s", alert_id, by)
    return changed


def resolve_manually(conn: sa.Connection, alert_id: int, by: str, note: str | None, now: datetime) -> Alert:
    """Resolve an open alert by hand; a breach that goes on opens a new alert at the next evaluation.

    The resolve is notified with the alert's group at the next evaluation,
    if the group had notified it as firing, and at once to the channels the
    alert was escalated to; a pending alert resolves quietly. Raises AlertNotFoundError for an unknown id and AlertStateError
    for an alert already resolved.
    """
    alert = require_alert(conn, alert_id)
    if alert.state not in OPEN_STATES:
        raise AlertStateError("cannot resolve alert %d: it is already %s" % (alert_id, alert.state.value))
    changed = alert.replace(state=AlertState.RESOLVED, resolved_at=now, clear_since=None, flapping=False)
    update_if_state(conn, changed, expected=alert.state)
    record_transition(conn, alert_id, now, alert.state, AlertState.RESOLVED, note, actor=by)
    if alert.state != AlertState.PENDING:
        # A channel that is also on the route gets the resolve with its group at the next evaluation.
        skip = [(channel, group.key) for group in alert_group_keys(changed) for channel in group.route.channels]
        payload = notification_payload(changed, "resolved", now)
        enqueue_escalation_followups(conn, alert_id, "resolved", payload, now, skip=skip)
    log.info("alert %d resolved by %s", alert_id, by)
    return changed


def require_alert(conn: sa.Connection, alert_id: int) -> Alert:
    alert = get_alert(conn, alert_id)
    if alert is None:
        raise AlertNotFoundError("alert %d not found; `inboxwatch alerts list --state all` shows the known ids" % alert_id)
    return alert


def update_if_state(conn: sa.Connection, alert: Alert, expected: AlertState) -> None:
    """Update the alert only if it is still in `expected`, so a concurrent change is not overwritten."""
    result = conn.execute(
        alerts_table.update()
        .where(alerts_table.c.id == alert.id)
        .where(alerts_table.c.state == expected.value)
        .values(**alert_values(alert))
    )
    if result.rowcount != 1:
        raise AlertStateError("alert %d changed while it was being updated (expected %s); try again" % (alert.id, expected.value))


def alert_values(alert: Alert) -> dict[str, Any]:
    annotations = {key: value for key, value in alert.annotations.items() if key not in OWN_KEYS}
    annotations[SUMMARY_KEY] = alert.summary
    annotations[CHANNELS_KEY] = list(alert.channels)
    annotations[ROUTES_KEY] = list(alert.routes)
    annotations[REPEAT_KEY] = alert.repeat_interval.total_seconds() if alert.repeat_interval else None
    annotations[ROUTE_SNAPSHOTS_KEY] = [route_to_json(route) for route in alert.route_snapshots]
    annotations[CLEAR_SINCE_KEY] = iso(alert.clear_since)
    annotations[STATE_CHANGES_KEY] = [iso(change) for change in alert.state_changes]
    annotations[FLAPPING_KEY] = alert.flapping
    annotations[SILENCED_KEY] = list(alert.silenced_by)
    annotations[INHIBITED_KEY] = list(alert.inhibited_by)
    annotations[ESCALATION_KEY] = escalation_to_json(alert.escalation)
    annotations[ESCALATION_LEVEL_KEY] = alert.escalation_level
    return {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "severity": alert.severity.value,
        "tenant": alert.tenant,
        "labels": dict(alert.labels),
        "annotations": annotations,
        "state": alert.state.value,
        "value": {"value": alert.value, "threshold": alert.threshold, "denominator": alert.denominator},
        "pending_since": as_utc(alert.pending_since),
        "fired_at": utc_or_none(alert.fired_at),
        "resolved_at": utc_or_none(alert.resolved_at),
        "acknowledged_at": utc_or_none(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "ack_note": alert.ack_note,
        "last_evaluated_at": as_utc(alert.last_evaluated_at),
        "last_notified_at": utc_or_none(alert.last_notified_at),
    }


SEVERITY_BY_VALUE = {severity.value: severity for severity in Severity}
STATE_BY_VALUE = {state.value: state for state in AlertState}

JSON_COLUMNS = frozenset(("labels", "annotations", "value"))

# The columns `open_alerts` passes to `decode_open_row`, in table order.
OPEN_ROW_COLUMNS = tuple(column.name for column in alerts_table.c if column.name != "last_evaluated_at")

# Decoded open-alert rows kept by their stored values, at most this many.
# A cycle rewrites only the alerts that changed and moves only
# `last_evaluated_at` of the others. So in a steady cycle nearly every
# open alert's row is the same as in the previous cycle, and decoding it
# (JSON, route and escalation snapshots, times, severity and state) is skipped.
# An entry (the row values, mostly the annotations text, plus the decoded
# fields) took about 4.6 KB on average for the alerts of
# bench/alert_cycle.py, which have one or two routes, so a full cache is
# about 75 MB. Beyond this many open alerts the cache only adds a lookup
# per alert, because a cycle reads them in id order and LRU evicts each
# entry before it is read again.
DECODED_ROWS_CACHE = 16384


def alert_from_row(row: Mapping[str, Any]) -> Alert:
    """Build an Alert from an `alerts` row; unknown severity or state values raise KeyError.

    The `annotations` column may be decoded (a dict) or its JSON text.
    """
    fields = fields_except_evaluation(row)
    fields["last_evaluated_at"] = as_utc(row["last_evaluated_at"])
    return Alert.from_fields(fields)


@functools.lru_cache(maxsize=DECODED_ROWS_CACHE)
def decode_open_row(values: tuple) -> dict[str, Any]:
    """Decode the `OPEN_ROW_COLUMNS` values of a row, with the JSON columns as text, into Alert fields.

    Callers must copy the returned dict and its `labels` and `annotations`
    before handing them out. Every other value in it is immutable.
    """
    row = dict(zip(OPEN_ROW_COLUMNS, values))
    for name in JSON_COLUMNS:
        if row[name] is not None:
            row[name] = json.loads(row[name])
    return fields_except_evaluation(row)


def fields_except_evaluation(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Alert fields of an `alerts` row, all but `last_evaluated_at`."""
    raw = row["annotations"]
    extra, own = decode_annotations(json.loads(raw) if isinstance(raw, str) else raw or {})
    figures = row["value"] or {}
    fields = {
        "id": row["id"],
        "fingerprint": row["fingerprint"],
        "rule": row["rule"],
        "tenant": row["tenant"],
        "labels": row["labels"] or {},
        "severity": SEVERITY_BY_VALUE[row["severity"]],
        "state": STATE_BY_VALUE[row["state"]],
        "pending_since": as_utc(row["pending_since"]),
        "value": figures.get("value"),
        "threshold": figures.get("threshold"),
        "denominator": figures.get("denominator"),
        "annotations": extra,
        "fired_at": utc_or_none(row["fired_at"]),
        "resolved_at": utc_or_none(row["resolved_at"]),
        "acknowledged_at": utc_or_none(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "ack_note": row["ack_note"],
        "last_notified_at": utc_or_none(row["last_notified_at"]),
    }
    fields.update(own)
    return fields


def decode_annotations(annotations: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a decoded `annotations` document into the evaluator's annotations and the Alert fields kept there."""
    repeat_seconds = annotations.get(REPEAT_KEY)
    snapshots = annotations.get(ROUTE_SNAPSHOTS_KEY)
    state_changes = annotations.get(STATE_CHANGES_KEY)
    own = {
        "summary": annotations.get(SUMMARY_KEY, ""),
        "channels": tuple(annotations.get(CHANNELS_KEY) or ()),
        "repeat_interval": timedelta(seconds=repeat_seconds) if repeat_seconds is not None else None,
        "routes": tuple(annotations.get(ROUTES_KEY) or ()),
        "route_snapshots": tuple(route_from_json(item) for item in snapshots) if snapshots else (),
        "clear_since": from_iso(annotations.get(CLEAR_SINCE_KEY)),
        "state_changes": tuple(from_iso(item) for item in state_changes) if state_changes else (),
        "flapping": bool(annotations.get(FLAPPING_KEY)),
        "silenced_by": tuple(annotations.get(SILENCED_KEY) or ()),
        "inhibited_by": tuple(annotations.get(INHIBITED_KEY) or ()),
        "escalation": escalation_from_json(annotations.get(ESCALATION_KEY)),
        "escalation_level": int(annotations.get(ESCALATION_LEVEL_KEY) or 0),
    }
    extra = {key: value for key, value in annotations.items() if key not in OWN_KEYS}
    return extra, own


def utc_or_none(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def from_iso(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def save_alerts(conn: sa.Connection, alerts: Sequence[Alert]) -> list[Alert]:
    """Insert the new alerts and update the stored ones; return them with their ids, in the same order.

    Inserts and updates each go in one executemany, because a cycle may
    touch every open alert. The inserts return their ids in parameter order
    (SQLAlchemy's `sort_by_parameter_order`), on SQLite and PostgreSQL alike.
    """
    new = [alert for alert in alerts if alert.id is None]
    ids: list[int] = []
    if new:
        statement = alerts_table.insert().returning(alerts_table.c.id, sort_by_parameter_order=True)
        ids = list(conn.execute(statement, [alert_values(alert) for alert in new]).scalars())
    updates = [{"alert_id": alert.id, **alert_values(alert)} for alert in alerts if alert.id is not None]
    if updates:
        statement = alerts_table.update().where(alerts_table.c.id == sa.bindparam("alert_id"))
        conn.execute(statement, updates)

    new_ids = iter(ids)
    return [alert.replace(id=next(new_ids)) if alert.id is None else alert for alert in alerts]


def set_last_evaluated(conn: sa.Connection, alert_ids: Sequence[int], time: datetime) -> None:
    """Set `last_evaluated_at` of the alerts with `alert_ids` to `time`, without rewriting anything else.

    An evaluation moves this time on every open alert that got a signal,
    while their other fields usually stay the same, so this one narrow
    UPDATE per chunk of ids spares re-encoding their JSON columns.
    """
    unique = sorted(set(alert_ids))
    statement = alerts_table.update().values(last_evaluated_at=as_utc(time))
    for start in range(0, len(unique), IN_CHUNK):
        conn.execute(statement.where(alerts_table.c.id.in_(unique[start : start + IN_CHUNK])))


def record_transitions(conn: sa.Connection, entries: Sequence[dict[str, Any]]) -> None:
    """Append several `alert_history` entries: dicts with alert_id, time, from_state, to_state, actor and note."""
    if entries:
        conn.execute(history_table.insert(), list(entries))


def recent_state_changes(conn: sa.Connection, since: datetime) -> dict[str, tuple[datetime, ...]]:
    """Return, by fingerprint, the stored state changes of alerts resolved after `since`."""
    query = (
        sa.select(alerts_table.c.fingerprint, alerts_table.c.annotations)
        .where(alerts_table.c.state == AlertState.RESOLVED.value)
        .where(alerts_table.c.resolved_at > as_utc(since))
    )
    # Each alert's list repeats the earlier alerts' changes it saw when it
    # fired, so the lists are merged as sets.
    found: dict[str, set[datetime]] = {}
    for fingerprint, annotations in conn.execute(query):
        changes = [from_iso(item) for item in (annotations or {}).get(STATE_CHANGES_KEY) or ()]
        found.setdefault(fingerprint, set()).update(change for change in changes if change is not None)
    return {fingerprint: tuple(sorted(changes)) for fingerprint, changes in found.items()}


# Fingerprints per query, well under SQLite's limit of bound parameters.
IN_CHUNK = 500


def latest_resolved(conn: sa.Connection, fingerprints: Sequence[str]) -> dict[str, Alert]:
    """Return the most recently resolved alert of each fingerprint that has one."""
    found: dict[str, Alert] = {}
    unique = sorted(set(fingerprints))
    for start in range(0, len(unique), IN_CHUNK):
        chunk = unique[start : start + IN_CHUNK]
        query = (
            sa.select(alerts_table)
            .where(alerts_table.c.fingerprint.in_(chunk))
            .where(alerts_table.c.state == AlertState.RESOLVED.value)
            .order_by(alerts_table.c.id)
        )
        for row in conn.execute(query).mappings():
            alert = alert_from_row(row)
            found[alert.fingerprint] = alert
    return found

