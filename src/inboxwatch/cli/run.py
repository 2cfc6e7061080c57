"""`inboxwatch run`: the long-running service."""

from __future__ import annotations

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.errors import InboxwatchError
from inboxwatch.service.runner import run_service
from inboxwatch.web.worker import http_worker


@click.command("run")
@config_option
@store_option
@click.option(
    "--http/--no-http",
    default=True,
    help="Serve the HTTP API, webhooks and /metrics on [service] http_host and http_port (default), or leave that to `inboxwatch serve`.",
)
def command(config_path: str | None, store_url: str | None, http: bool) -> None:
    """Run the service: follow logs, ingest dropped files and mailboxes, check reports, evaluate rules, send notifications and serve HTTP.

    Stops cleanly on SIGTERM or Ctrl-C: buffered events are written and the
    read positions stored before the process exits.
    """
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    workers = []
    if http:
        try:
            workers.append(("http", http_worker(engine, config)))
        except (InboxwatchError, ValueError) as exc:
            raise click.ClickException("cannot start the HTTP server: %s" % exc) from exc
    try:
        run_service(engine, config, extra_workers=workers)
    except InboxwatchError as exc:
        raise click.ClickException("cannot start the service: %s" % exc) from exc
