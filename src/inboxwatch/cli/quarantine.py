"""`inboxwatch quarantine`: inputs that could not be read, with the reasons."""

from __future__ import annotations

import json

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.model.text import printable
from inboxwatch.store.quarantine import list_quarantine

# Characters of the raw input shown per item in the table view.
RAW_PREVIEW_CHARS = 120


@click.group("quarantine")
def command() -> None:
    """List inputs that could not be read and why."""


@command.command("list")
@config_option
@store_option
@click.option("--since", help="Only items received at or after this time (ISO 8601 or now).")
@click.option("--source", help="Only items from this file, webhook or stream name.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="Items to show, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per item, with the whole raw text.")
def list_command(
    config_path: str | None, store_url: str | None, since: str | None, source: str | None, limit: int, as_json: bool
) -> None:
    """List quarantined items, newest first."""
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    with engine.connect() as conn:
        items = list_quarantine(conn, since=parse_time(since) if since else None, source=source, limit=limit)
    for item in items:
        if as_json:
            click.echo(json.dumps({
                "id": item.id,
                "received_at": item.received_at.isoformat() if item.received_at else None,
                "source": item.source,
                "kind": item.kind,
                "location": item.location,
                "reason": item.reason,
                "raw": item.raw,
            }))
            continue
        where = "%s, %s" % (item.source, item.location) if item.location else item.source
        click.echo(
            "#%s %s %s (%s): %s"
            % (item.id, item.received_at.strftime("%Y-%m-%d %H:%M:%S"), printable(where), printable(item.kind), printable(item.reason))
        )
        if item.raw:
            preview = printable(item.raw[:RAW_PREVIEW_CHARS])
            click.echo("    %s%s" % (preview, "..." if len(item.raw) > RAW_PREVIEW_CHARS else ""))
    if not items and not as_json:
        click.echo("no quarantined items")
