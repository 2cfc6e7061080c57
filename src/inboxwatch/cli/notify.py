"""`inboxwatch notify`: drain the outbox, test or preview a channel, list delivery attempts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.config import Config
from inboxwatch.errors import ChannelError, ConfigError
from inboxwatch.notify.channels import build_channel, build_channels
from inboxwatch.notify.notification import Channel, Notification
from inboxwatch.notify.sender import OutboxSender
from inboxwatch.service.delivery_alerts import DeliveryAlerts
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.outbox import count_by_status, list_attempts

# Outbox reason used to preview an alert in each state.
REASON_BY_STATE = {"resolved": "resolved", "acknowledged": "acknowledged"}

# A made-up alert for `notify preview --sample`, shaped like store.alerts.notification_payload.
SAMPLE_PAYLOAD = {
    "alert_id": 42,
    "fingerprint": "sample-fingerprint",
    "reason": "firing",
    "rule": "provider_bounce_rate",
    "tenant": "default",
    "labels": {"tenant": "default", "provider": "microsoft", "sending_ip": "192.0.2.10"},
    "severity": "critical",
    "state": "firing",
    "summary": "Microsoft bounce rate 12.5% over 10%",
    "value": 0.125,
    "threshold": 0.1,
    "denominator": 4000,
    "pending_since": "2026-03-02T08:50:00+00:00",
    "fired_at": "2026-03-02T08:55:00+00:00",
    "resolved_at": None,
    "acknowledged_at": None,
    "acknowledged_by": None,
    "ack_note": None,
    "routes": ["routes[0]"],
}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@click.group("notify")
def command() -> None:
    """Send notifications: drain the outbox, or test a channel."""


@command.command("drain")
@config_option
@store_option
def drain_command(config_path: str | None, store_url: str | None) -> None:
    """Send every notification that is due, once, and print a summary.

    Failed attempts are scheduled for retry as the service would; run the
    command again later, or run the service, to send them.
    """
    config = load_settings(config_path, store_url)
    try:
        channels = build_channels(config.channels, utc_now)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc

    engine = open_store(config)
    try:
        sender = OutboxSender(engine, channels, utc_now, observer=DeliveryAlerts(engine, config))
        summary = asyncio.run(sender.drain_once())
        with engine.connect() as connection:
            counts = count_by_status(connection)
    finally:
        engine.dispose()

    click.echo(
        "sent %d, scheduled for retry %d, failed %d, skipped %d (held by another sender)"
        % (summary.sent, summary.retry, summary.failed, summary.skipped)
    )
    click.echo("outbox now: %d pending, %d sent, %d failed" % (counts["pending"], counts["sent"], counts["failed"]))


@command.command("test")
@click.argument("channel_name", metavar="CHANNEL")
@config_option
def test_command(channel_name: str, config_path: str | None) -> None:
    """Send a test notification through CHANNEL now, bypassing the outbox."""
    config = load_settings(config_path, None)
    channel = find_channel(config, channel_name)
    notification = test_notification(channel_name, utc_now())
    try:
        asyncio.run(channel.send(notification))
    except ChannelError as exc:
        kind = "temporary, may work later" if exc.retryable else "permanent, fix the channel settings"
        raise click.ClickException("test notification via channel %s failed (%s): %s" % (channel_name, kind, exc)) from exc
    click.echo("test notification sent via channel %s (idempotency key %s)" % (channel_name, notification.idempotency_key))


@command.command("preview")
@click.argument("channel_name", metavar="CHANNEL")
@click.option("--alert", "alert_id", type=int, help="Render the stored alert with this id (see `inboxwatch alerts list`).")
@click.option("--sample", is_flag=True, help="Render a made-up critical alert (the default without --alert).")
@config_option
@store_option
def preview_command(
    channel_name: str, alert_id: int | None, sample: bool, config_path: str | None, store_url: str | None
) -> None:
    """Print what CHANNEL would send for an alert, without sending anything.

    Renders the channel's templates and prints the request body, message or
    form fields the channel would transmit. Secrets the channel reads from
    the environment must be set, as for sending.
    """
    if sample and alert_id is not None:
        raise click.UsageError("--alert and --sample exclude each other: pass one")
    config = load_settings(config_path, store_url)
    channel = find_channel(config, channel_name)
    now = utc_now()
    if alert_id is None:
        notification = Notification(
            channel=channel_name,
            reason="firing",
            idempotency_key="preview-%s" % uuid.uuid4().hex,
            payload=dict(SAMPLE_PAYLOAD, time=now.isoformat()),
            created_at=now,
        )
    else:
        notification = stored_alert_notification(config, channel_name, alert_id, now)
    try:
        click.echo(channel.preview(notification))
    except ChannelError as exc:
        raise click.ClickException("preview of channel %s failed: %s" % (channel_name, exc)) from exc


@command.command("history")
@click.option("--channel", "channel_name", help="Show only attempts through this channel.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True, help="Number of attempts shown.")
@config_option
@store_option
def history_command(channel_name: str | None, limit: int, config_path: str | None, store_url: str | None) -> None:
    """List notification attempts and their outcomes, newest first."""
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    try:
        with engine.connect() as connection:
            attempts = list_attempts(connection, channel_name, limit)
    finally:
        engine.dispose()
    if not attempts:
        click.echo("no notification attempts%s" % (" for channel %s" % channel_name if channel_name else ""))
        return
    click.echo("%-25s %7s %6s %-16s %-12s %-9s %s" % ("time", "outbox", "alert", "channel", "reason", "outcome", "error"))
    for attempt in attempts:
        click.echo(
            "%-25s %7d %6s %-16s %-12s %-9s %s"
            % (
                attempt.time.isoformat(timespec="seconds"),
                attempt.outbox_id,
                attempt.alert_id if attempt.alert_id is not None else "-",
                attempt.channel,
                attempt.reason,
                attempt_outcome(attempt.ok, attempt.retryable),
                attempt.error or "",
            )
        )


def attempt_outcome(ok: bool, retryable: bool | None) -> str:
    if ok:
        return "sent"
    if retryable:
        return "retry"
    return "failed"


def stored_alert_notification(config: Config, channel_name: str, alert_id: int, now: datetime) -> Notification:
    engine = open_store(config)
    try:
        with engine.connect() as connection:
            alert = alert_store.get_alert(connection, alert_id)
    finally:
        engine.dispose()
    if alert is None:
        raise click.ClickException("alert %d not found; `inboxwatch alerts list --state all` shows the known ids" % alert_id)
    reason = REASON_BY_STATE.get(alert.state.value, "firing")
    return Notification(
        channel=channel_name,
        reason=reason,
        idempotency_key="preview-%s" % uuid.uuid4().hex,
        payload=alert_store.notification_payload(alert, reason, now),
        created_at=now,
    )


def find_channel(config: Config, name: str) -> Channel:
    for settings in config.channels:
        if settings.name == name:
            try:
                return build_channel(settings, utc_now)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
    configured = ", ".join(settings.name for settings in config.channels) or "none"
    raise click.ClickException(
        "channel %r is not configured (configured channels: %s); add a [[channels]] entry or pass --config"
        % (name, configured)
    )


def test_notification(channel_name: str, now: datetime) -> Notification:
    payload = {
        "rule": "inboxwatch_test",
        "severity": "info",
        "state": "firing",
        "summary": "Test notification from inboxwatch to channel %s" % channel_name,
        "labels": {"channel": channel_name},
        "time": now.isoformat(),
    }
    return Notification(
        channel=channel_name,
        reason="test",
        idempotency_key="test-%s" % uuid.uuid4().hex,
        payload=payload,
        created_at=now,
    )
