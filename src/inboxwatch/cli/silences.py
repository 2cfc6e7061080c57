"""`inboxwatch silences`: add, list and expire silences that mute matching alerts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

from inboxwatch.cli.settings import ROW_ID, config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.config.durations import parse_duration
from inboxwatch.errors import InboxwatchError
from inboxwatch.model.matchers import MatcherError, parse_matcher
from inboxwatch.store import silences as silence_store


@click.group("silences")
def command() -> None:
    """Mute alerts that match label matchers for a while."""


@command.command("add")
@config_option
@store_option
@click.argument("matchers", nargs=-1, required=True)
@click.option("--by", "created_by", required=True, help="Who creates the silence: a name or address.")
@click.option("--comment", required=True, help="Why the alerts are muted, such as the ticket or the maintenance.")
@click.option("--duration", help='How long the silence lasts from its start, such as "2h" or "1d". Default 1h.')
@click.option("--until", "until_text", help="When the silence ends (ISO 8601; naive times are UTC). Replaces --duration.")
@click.option("--start", "start_text", default="now", show_default=True, help="When the silence starts (ISO 8601 or now).")
def add_command(
    config_path: str | None,
    store_url: str | None,
    matchers: tuple[str, ...],
    created_by: str,
    comment: str,
    duration: str | None,
    until_text: str | None,
    start_text: str,
) -> None:
    """Add a silence. MATCHERS are label matchers such as sending_ip="192.0.2.10" or rule=~"bounce_rate|delivery_rate"."""
    for text in matchers:
        try:
            parse_matcher(text)
        except MatcherError as exc:
            raise click.BadParameter(str(exc), param_hint="MATCHERS") from None
    if duration and until_text:
        raise click.UsageError("--duration and --until both set the end: give one of them")
    now = datetime.now(timezone.utc)
    starts_at = parse_time(start_text)
    if until_text:
        ends_at = parse_time(until_text)
    else:
        try:
            ends_at = starts_at + parse_duration(duration or "1h")
        except ValueError as exc:
            raise click.BadParameter("invalid duration %r: %s" % (duration, exc), param_hint="--duration") from None
    if ends_at <= starts_at:
        raise click.BadParameter("the silence would end at %s, not after its start at %s" % (ends_at.isoformat(), starts_at.isoformat()))
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.begin() as conn:
            silence_id = silence_store.add_silence(
                conn, matchers=matchers, starts_at=starts_at, ends_at=ends_at, created_by=created_by, comment=comment, now=now
            )
    finally:
        engine.dispose()
    click.echo("silence %d added: %s until %s" % (silence_id, " ".join(matchers), short_time(ends_at)))


@command.command("list")
@config_option
@store_option
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per silence (JSON Lines).")
def list_command(config_path: str | None, store_url: str | None, show_all: bool, as_json: bool) -> None:
    """List active and pending silences, oldest first."""
    now = datetime.now(timezone.utc)
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.connect() as conn:
            silences = silence_store.list_silences(conn, ending_after=None if show_all else now)
    finally:
        engine.dispose()
    for silence in silences:
        if as_json:
            click.echo(json.dumps(silence_json(silence, now)))
            continue
        click.echo(
            "%4d  %-8s %s -> %s  %s  by %s: %s"
            % (
                silence["id"],
                status(silence, now),
                short_time(silence["starts_at"]),
                short_time(silence["ends_at"]),
                " ".join(silence["matchers"]),
                silence["created_by"],
                silence["comment"],
            )
        )
    if not silences and not as_json:
        click.echo("no silences" if show_all else "no active or pending silences")


@command.command("expire")
@config_option
@store_option
@click.argument("silence_id", type=ROW_ID)
def expire_command(config_path: str | None, store_url: str | None, silence_id: int) -> None:
    """End a silence now; its alerts are notified again from the next evaluation."""
    now = datetime.now(timezone.utc)
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.begin() as conn:
            silence = silence_store.expire_silence(conn, silence_id, now)
    except InboxwatchError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo("silence %d ends at %s" % (silence_id, short_time(silence["ends_at"])))


def status(silence: dict[str, Any], now: datetime) -> str:
    if now < silence["starts_at"]:
        return "pending"
    return "active" if now < silence["ends_at"] else "expired"


def silence_json(silence: dict[str, Any], now: datetime) -> dict[str, Any]:
    data = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in silence.items()}
    data["status"] = status(silence, now)
    return data


def short_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")
