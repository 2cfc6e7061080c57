"""`inboxwatch alerts`: list, show, acknowledge and resolve alerts, and show their history."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.errors import InboxwatchError
from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState
from inboxwatch.store import alerts as alert_store
from inboxwatch.store import notification_log as log_store

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
            click.echo("%5d  %-12s %-8s %s  %s" % (alert.id, alert.state.value, alert.severity.value, short_time(alert.pending_since), alert.summary))
    if not alerts and not as_json:
        click.echo("no alerts in state %s" % ", ".join(state.value for state in chosen))


@command.command("show")
@config_option
@store_option
@click.argument("alert_id", type=int)
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
    for key, value in data.items():
        if value not in (None, "", [], {}):
            click.echo("%-16s %s" % (key + ":", json.dumps(value) if isinstance(value, (dict, list)) else value))


@command.command("ack")
@config_option
@store_option
@click.argument("alert_id", type=int)
@click.option("--by", required=True, help="Who acknowledges: a name or address, recorded in the history.")
@click.option("--note", help="Why, or what is being done; recorded in the history.")
def ack_command(config_path: str | None, store_url: str | None, alert_id: int, by: str, note: str | None) -> None:
    """Acknowledge a firing alert, which stops its repeat notifications."""
    change_alert(config_path, store_url, alert_store.acknowledge, alert_id, by, note)
    click.echo("alert %d acknowledged by %s" % (alert_id, by))


@command.command("resolve")
@config_option
@store_option
@click.argument("alert_id", type=int)
@click.option("--by", required=True, help="Who resolves: a name or address, recorded in the history.")
@click.option("--note", help="Why; recorded in the history.")
def resolve_command(config_path: str | None, store_url: str | None, alert_id: int, by: str, note: str | None) -> None:
    """Resolve an open alert by hand. A breach that goes on opens a new alert."""
    change_alert(config_path, store_url, alert_store.resolve_manually, alert_id, by, note)
    click.echo("alert %d resolved by %s" % (alert_id, by))


@command.command("history")
@config_option
@store_option
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per entry (JSON Lines).")
def history_command(config_path: str | None, store_url: str | None, alert_id: int, as_json: bool) -> None:
    """Show an alert's state changes and notification decisions, oldest first."""
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.connect() as conn:
            if alert_store.get_alert(conn, alert_id) is None:
                raise click.ClickException("alert %d not found; `inboxwatch alerts list --state all` shows the known ids" % alert_id)
            entries = [{"kind": "state", **entry} for entry in alert_store.alert_history(conn, alert_id)]
            entries += [{"kind": "notification", **entry} for entry in log_store.decisions_for_alert(conn, alert_id)]
    finally:
        engine.dispose()
    # State changes come before the decisions taken at the same time, because the decisions follow from them.
    entries.sort(key=lambda entry: (entry["time"], entry["kind"] != "state"))
    for entry in entries:
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
            click.echo("%s  %s: %s%s%s" % (short_time(entry["time"]), entry["action"], entry["reason"], where, route))


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
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def short_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")
