"""`inboxwatch alerts`: list, show, acknowledge and resolve alerts, and show their history."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

from inboxwatch.alerting.lifecycle import DIRECTION_ANNOTATION, PEAK_ANNOTATION
from inboxwatch.analysis.rules import percent
from inboxwatch.cli.settings import ROW_ID, config_option, load_settings, open_store, store_option
from inboxwatch.errors import InboxwatchError
from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState
from inboxwatch.store import alerts as alert_store
from inboxwatch.store import notification_log as log_store

# Shown in place of `resolved` for an alert that cleared while pending and never fired.
CLEARED = "cleared"
STATE_CHOICES = [state.value for state in AlertState] + ["open", "all"]


@click.group("alerts")
def command() -> None:
    """List and manage alerts."""


@command.command("list")
@config_option
@store_option
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(STATE_CHOICES),
    help="Show alerts in this state; repeatable. 'open' (the default) is pending, firing and acknowledged.",
)
@click.option("--tenant", help="Show only this tenant's alerts.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1), help="Maximum alerts shown.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per alert (JSON Lines).")
def list_command(
    config_path: str | None, store_url: str | None, states: tuple[str, ...], tenant: str | None, limit: int, as_json: bool
) -> None:
    """List alerts, newest first."""
    chosen = expand_states(states)
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.connect() as conn:
            alerts = alert_store.list_alerts(conn, states=chosen, tenant=tenant, limit=limit)
    finally:
        engine.dispose()

    for alert in alerts:
        if as_json:
            click.echo(json.dumps(alert_json(alert)))
        else:
            click.echo(
                "%5d  %-12s %-8s %s  %s"
                % (alert.id, shown_state(alert), alert.severity.value, short_time(alert.pending_since), alert.summary)
            )
    if not alerts and not as_json:
        click.echo("no alerts in state %s" % ", ".join(state.value for state in chosen))


@command.command("show")
@config_option
@store_option
@click.argument("alert_id", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the alert as a JSON object.")
def show_command(config_path: str | None, store_url: str | None, alert_id: int, as_json: bool) -> None:
    """Show one alert with its labels, figures, times and channels."""
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.connect() as conn:
            alert = alert_store.get_alert(conn, alert_id)
    finally:
        engine.dispose()
    if alert is None:
        raise click.ClickException("alert %d not found; `inboxwatch alerts list --state all` shows the known ids" % alert_id)
    data = alert_json(alert)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    shown = {**data, "state": shown_state(alert), **readable_figures(alert)}
    for key, value in shown.items():
        if value not in (None, "", [], {}):
            click.echo("%-16s %s" % (key + ":", json.dumps(value) if isinstance(value, (dict, list)) else value))


@command.command("ack")
@config_option
@store_option
@click.argument("alert_id", type=ROW_ID)
@click.option("--by", required=True, help="Who acknowledges: a name or address, recorded in the history.")
@click.option("--note", help="Why, or what is being done; recorded in the history.")
def ack_command(config_path: str | None, store_url: str | None, alert_id: int, by: str, note: str | None) -> None:
    """Acknowledge a firing alert, which stops its repeat notifications."""
    change_alert(config_path, store_url, alert_store.acknowledge, alert_id, by, note)
    click.echo("alert %d acknowledged by %s" % (alert_id, by))


@command.command("resolve")
@config_option
@store_option
@click.argument("alert_id", type=ROW_ID)
@click.option("--by", required=True, help="Who resolves: a name or address, recorded in the history.")
@click.option("--note", help="Why; recorded in the history.")
def resolve_command(config_path: str | None, store_url: str | None, alert_id: int, by: str, note: str | None) -> None:
    """Resolve an open alert by hand. A breach that goes on opens a new alert."""
    change_alert(config_path, store_url, alert_store.resolve_manually, alert_id, by, note)
    click.echo("alert %d resolved by %s" % (alert_id, by))


@command.command("history")
@config_option
@store_option
@click.argument("alert_id", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per entry (JSON Lines).")
def history_command(config_path: str | None, store_url: str | None, alert_id: int, as_json: bool) -> None:
    """Show an alert's state changes and notification decisions, oldest first."""
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.connect() as conn:
            if alert_store.get_alert(conn, alert_id) is None:
                raise click.ClickException("alert %d not found; `inboxwatch alerts list --state all` shows the known ids" % alert_id)
            changes = [{"kind": "state", **entry} for entry in alert_store.alert_history(conn, alert_id)]
            decisions = [{"kind": "notification", **entry} for entry in log_store.decisions_for_alert(conn, alert_id)]
    finally:
        engine.dispose()
    for entry in merge_history(changes, decisions):
        if as_json:
            click.echo(json.dumps({**entry, "time": entry["time"].isoformat()}))
        elif entry["kind"] == "state":
            actor = " by %s" % entry["actor"] if entry["actor"] else ""
            click.echo(
                "%s  %s -> %s%s  %s"
                % (short_time(entry["time"]), entry["from_state"] or "-", entry["to_state"], actor, entry["note"] or "")
            )
        else:
            where = " via %s" % ", ".join(entry["channels"]) if entry["channels"] else ""
            route = " (route %s)" % entry["route"] if entry["route"] else ""
            reason = entry["reason"]
            if entry["action"] == "suppress":
                # Stored suppress reasons start with "suppressed: ", which the action already names.
                reason = reason.removeprefix("suppressed: ")
            click.echo("%s  %s: %s%s%s" % (short_time(entry["time"]), entry["action"], reason, where, route))


def shown_state(alert: Alert) -> str:
    """Return the state to print: `cleared` for an alert that resolved while pending, so it never fired."""
    if alert.state == AlertState.RESOLVED and alert.fired_at is None:
        return CLEARED
    return alert.state.value


def merge_history(changes: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge state changes and decisions, each in the order they were written, by time.

    State changes keep the order they were made in. A catch-up evaluation
    records a change at the event time it replays, which may be earlier
    than a manual change made before it, such as an acknowledgement. A
    state change comes before a decision of the same time, because the
    decision follows from it.
    """
    merged: list[dict[str, Any]] = []
    pending = list(decisions)
    for change in changes:
        while pending and pending[0]["time"] < change["time"]:
            merged.append(pending.pop(0))
        merged.append(change)
    merged.extend(pending)
    return merged


def change_alert(config_path: str | None, store_url: str | None, change, alert_id: int, by: str, note: str | None) -> None:
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.begin() as conn:
            change(conn, alert_id, by, note, datetime.now(timezone.utc))
    except InboxwatchError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


def expand_states(states: tuple[str, ...]) -> list[AlertState]:
    if not states:
        return list(OPEN_STATES)
    chosen: list[AlertState] = []
    for state in states:
        if state == "all":
            return list(AlertState)
        members = list(OPEN_STATES) if state == "open" else [AlertState(state)]
        chosen.extend(member for member in members if member not in chosen)
    return chosen


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "state": alert.state.value,
        "severity": alert.severity.value,
        "rule": alert.rule,
        "tenant": alert.tenant,
        "labels": dict(alert.labels),
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
        "last_evaluated_at": iso(alert.last_evaluated_at),
        "last_notified_at": iso(alert.last_notified_at),
        "channels": list(alert.channels),
        "routes": list(alert.routes),
        "flapping": alert.flapping,
        "silenced_by": list(alert.silenced_by),
        "inhibited_by": list(alert.inhibited_by),
        "escalation_policy": alert.escalation.policy if alert.escalation else None,
        "escalation_level": alert.escalation_level,
        "fingerprint": alert.fingerprint,
        "peak": alert.annotations.get(PEAK_ANNOTATION),
        "peak_summary": alert.annotations.get("peak_summary"),
        "peak_at": alert.annotations.get("peak_at"),
    }


def readable_figures(alert: Alert) -> dict[str, str]:
    """Write the rate figures of a threshold alert as its summary does: "4.55% (1/22)", "3%".

    Alerts of other evaluators (no `direction` annotation) keep their raw numbers.
    """
    if alert.annotations.get(DIRECTION_ANNOTATION) not in ("above", "below"):
        return {}
    figures = {}
    if alert.value is not None:
        numerator = alert.annotations.get("numerator")
        counts = " (%s/%s)" % (numerator, alert.denominator) if numerator is not None and alert.denominator else ""
        figures["value"] = percent(alert.value) + counts
    if alert.threshold is not None:
        figures["threshold"] = percent(alert.threshold)
    peak = alert.annotations.get(PEAK_ANNOTATION)
    if isinstance(peak, (int, float)):
        figures["peak"] = percent(peak)
    return figures


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def short_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")
