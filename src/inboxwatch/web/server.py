"""Running the application on uvicorn, alone (`inboxwatch serve`) or as a worker of `inboxwatch run`."""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn
from fastapi import FastAPI

from inboxwatch.config.models import ServiceSettings
from inboxwatch.errors import InboxwatchError

log = logging.getLogger(__name__)


# Seconds the requests in flight get to finish at shutdown. Alert event
# streams end by themselves within a poll interval once `WebContext.stopping`
# is set; the limit covers any other response that hangs.
GRACEFUL_SHUTDOWN_SECONDS = 10


class ServerError(InboxwatchError):
    """The HTTP server could not start."""


class Server(uvicorn.Server):
    """uvicorn's server, which at shutdown first sets `stopping` so that open alert streams end instead of being cancelled."""

    def __init__(self, config: uvicorn.Config, stopping: threading.Event) -> None:
        super().__init__(config)
        self.stopping = stopping

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("HTTP server stopping")
        self.stopping.set()
        await super().shutdown(sockets)


def build_server(app: FastAPI, settings: ServiceSettings) -> uvicorn.Server:
    """Configure uvicorn from `[service]`: host, port, and HTTPS when both TLS files are set."""
    if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
        raise ServerError("service: tls_cert_file and tls_key_file must be set together to serve HTTPS")
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        # Logging is configured by the command line, not by uvicorn.
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return Server(config, app.state.context.stopping)


def serve_until(server: uvicorn.Server, stop: threading.Event) -> None:
    """Serve until `stop` is set, then finish the requests in flight; raises ServerError when startup fails.

    Outside the main thread uvicorn installs no signal handlers, so the stop
    event is relayed to its `should_exit` flag.
    """

    def relay_stop() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=relay_stop, name="http stop relay", daemon=True).start()
    address = "%s:%d" % (server.config.host, server.config.port)
    log.info("HTTP server starting on %s", address)
    try:
        server.run()
    except SystemExit:
        # uvicorn exits the process when it cannot bind; here that would end only this thread.
        pass
    if not server.started and not stop.is_set():
        raise ServerError("HTTP server on %s failed to start: the address may be in use; see the log above" % address)
    log.info("HTTP server on %s stopped", address)
