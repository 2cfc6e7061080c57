"""`inboxwatch report html`: the daily or weekly HTML report, written to a file or standard output."""

from __future__ import annotations

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.service.report_page import PERIODS, render_report


@click.command("html")
@click.option("--period", type=click.Choice(sorted(PERIODS)), default="daily", show_default=True, help="Length of the report: the last day or the last 7 days.")
@click.option("--now", "now_text", default="now", show_default=True, help="End of the report (ISO 8601 time or now).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write. Default: standard output.")
@config_option
@store_option
def html_command(period: str, now_text: str, output: str | None, config_path: str | None, store_url: str | None) -> None:
    """Render rates per provider over time with alerts marked, reputation, blocklists and grades as one HTML page."""
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    try:
        with engine.connect() as conn:
            page = render_report(conn, config, PERIODS[period], parse_time(now_text))
    finally:
        engine.dispose()
    if output is None:
        click.echo(page)
        return
    with open(output, "w", encoding="utf-8") as stream:
        stream.write(page)
    click.echo("report written to %s" % output)
