"""The HTTP server as a worker of `inboxwatch run`."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from inboxwatch.config.models import Config
from inboxwatch.web.app import create_app
from inboxwatch.web.server import build_server, serve_until


def http_worker(engine: sa.Engine, config: Config):
    """Build the application and server now, so configuration errors stop the start; return the worker."""
    server = build_server(create_app(engine, config), config.service)

    def run(stop: threading.Event) -> None:
        serve_until(server, stop)

    return run
