"""`inboxwatch serve`: the HTTP role alone (API, webhooks, /metrics), for a separate process."""

from __future__ import annotations

import logging

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.errors import InboxwatchError
from inboxwatch.web.app import create_app
from inboxwatch.web.server import build_server

log = logging.getLogger(__name__)


@click.command("serve")
@config_option
@store_option
@click.option("--host", help="Address to listen on, replacing [service] http_host.")
@click.option("--port", type=click.IntRange(1, 65535), help="TCP port to listen on, replacing [service] http_port.")
def command(config_path: str | None, store_url: str | None, host: str | None, port: int | None) -> None:
    """Serve the HTTP API, ESP webhooks and Prometheus /metrics until SIGTERM or Ctrl-C.

    Run `inboxwatch run --no-http` beside it for the other roles.
    """
    config = load_settings(config_path, store_url)
    updates = {key: value for key, value in (("http_host", host), ("http_port", port)) if value is not None}
    settings = config.service.model_copy(update=updates)
    try:
        server = build_server(create_app(open_store(config), config), settings)
    except (InboxwatchError, ValueError) as exc:
        raise click.ClickException("cannot start the HTTP server: %s" % exc) from exc
    # A service reports its start and stop without being asked, as `run` does.
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("inboxwatch").setLevel(logging.INFO)
    scheme = "https" if settings.tls_cert_file else "http"
    log.info("serving %s://%s:%d", scheme, settings.http_host, settings.http_port)
    # In the main thread uvicorn handles SIGTERM and SIGINT itself and finishes requests in flight.
    server.run()
