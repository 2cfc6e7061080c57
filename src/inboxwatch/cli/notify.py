"""`inboxwatch notify`: drain the outbox once, or send a test through one channel."""

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
from inboxwatch.store.outbox import count_by_status


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
        summary = asyncio.run(OutboxSender(engine, channels, utc_now).drain_once())
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
