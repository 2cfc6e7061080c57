"""`inboxwatch run`: the long-running service."""

from __future__ import annotations

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.service.runner import run_service


@click.command("run")
@config_option
@store_option
def command(config_path: str | None, store_url: str | None) -> None:
    """Run the service: follow logs, ingest dropped files, evaluate rules and send notifications.

    Stops cleanly on SIGTERM or Ctrl-C: buffered events are written and the
    read positions stored before the process exits.
    """
    config = load_settings(config_path, store_url)
    run_service(open_store(config), config)
