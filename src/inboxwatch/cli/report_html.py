"""`inboxwatch report html`: the daily or weekly HTML report, written to a file or standard output."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.config.channels import EmailChannelSettings
from inboxwatch.config.models import Config
from inboxwatch.errors import InboxwatchError
from inboxwatch.notify.report_mail import mail_report
from inboxwatch.service.report_page import PERIODS, render_report


@click.command("html")
@click.option("--period", type=click.Choice(sorted(PERIODS)), default="daily", show_default=True, help="Length of the report: the last day or the last 7 days.")
@click.option("--now", "now_text", default="now", show_default=True, help="End of the report (ISO 8601 time or now).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write. Default: standard output.")
@click.option("--email", "channel_name", help="Also mail the report through this email channel of the configuration.")
@config_option
@store_option
def html_command(period: str, now_text: str, output: str | None, channel_name: str | None, config_path: str | None, store_url: str | None) -> None:
    """Render rates per provider over time with alerts marked, grades, reputation, authentication and blocklists as one HTML page (see docs/reports.md)."""
    config = load_settings(config_path, store_url)
    channel = email_channel(config, channel_name) if channel_name else None
    engine = open_store(config)
    try:
        with engine.connect() as conn:
            page = render_report(conn, config, PERIODS[period], parse_time(now_text))
    finally:
        engine.dispose()
    if channel is not None:
        subject = "inboxwatch %s report for %s" % (period, config.tenant)
        try:
            asyncio.run(mail_report(channel, channel.resolve_password(), subject, page, lambda: datetime.now(timezone.utc)))
        except InboxwatchError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo("report mailed through channel %s to %s" % (channel.name, ", ".join(channel.to)))
        if output is None:
            return
    if output is None:
        click.echo(page)
        return
    with open(output, "w", encoding="utf-8") as stream:
        stream.write(page)
    click.echo("report written to %s" % output)


def email_channel(config: Config, name: str) -> EmailChannelSettings:
    for channel in config.channels:
        if channel.name == name:
            if not isinstance(channel, EmailChannelSettings):
                raise click.BadParameter("channel %r is of type %s: expected an email channel" % (name, channel.type), param_hint="--email")
            return channel
    known = ", ".join(channel.name for channel in config.channels if isinstance(channel, EmailChannelSettings)) or "none"
    raise click.BadParameter("no channel named %r; email channels in the configuration: %s" % (name, known), param_hint="--email")
