"""The application on a real uvicorn server on 127.0.0.1, as `inboxwatch run` starts it."""

from __future__ import annotations

import logging
import socket
import threading
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from inboxwatch.config.models import Config
from inboxwatch.service.runner import Service
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import events
from inboxwatch.store.tokens import create_token
from inboxwatch.web.app import create_app
from inboxwatch.web.server import ServerError, build_server, serve_until
from inboxwatch.web.worker import http_worker

from web_support import NOW, SendGridSigner, fixed_clock, sendgrid_payload

# Long enough for a loaded test machine; no assertion depends on timing.
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def config_for(port: int, webhooks: dict | None = None) -> Config:
    return Config.model_validate({"service": {"http_host": "127.0.0.1", "http_port": port}, "webhooks": webhooks or {}})


@pytest.fixture
def running(tmp_path):
    """Start the server in a thread; yield (base URL, engine, signer); stop it through the stop event."""
    signer = SendGridSigner()
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    config = config_for(free_port(), {"sendgrid": {"secret": signer.public_key_b64}})
    server = build_server(create_app(engine, config, fixed_clock), config.service)
    stop = threading.Event()
    thread = threading.Thread(target=serve_until, args=(server, stop))
    thread.start()
    base_url = "http://127.0.0.1:%d" % config.service.http_port
    # Poll until the socket accepts; the loop ends on success, not after a set time.
    with httpx.Client(base_url=base_url, timeout=5) as client:
        for _ in range(START_TIMEOUT_SECONDS * 10):
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                stop.wait(0.1)
    yield base_url, engine, signer
    stop.set()
    thread.join()
    engine.dispose()


def test_server_stores_signed_sendgrid_payload(running):
    base_url, engine, signer = running
    body = sendgrid_payload("live-1")
    response = httpx.post(base_url + "/webhooks/sendgrid", content=body, headers=signer.headers(body), timeout=10)
    assert response.status_code == 200
    with engine.connect() as conn:
        stored = conn.execute(sa.select(events.c.recipient_domain, events.c.type)).all()
    assert [tuple(row) for row in stored] == [("gmail.com", "delivered")]


def test_server_stops_on_stop_event(running):
    base_url, _, _ = running
    assert httpx.get(base_url + "/readyz", timeout=10).json()["status"] == "ok"


def test_server_port_in_use_raises(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = config_for(taken.getsockname()[1])
        engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
        server = build_server(create_app(engine, config, fixed_clock), config.service)
        with pytest.raises(ServerError, match="failed to start"):
            serve_until(server, threading.Event())


def test_server_tls_needs_both_files():
    config = Config.model_validate({"service": {"tls_cert_file": "/etc/cert.pem"}})
    with pytest.raises(ServerError, match="together"):
        build_server(None, config.service)


def test_service_runs_http_worker(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    config = config_for(free_port())
    service = Service(engine, config, extra_workers=[("http", http_worker(engine, config))])
    service.start()
    try:
        base_url = "http://127.0.0.1:%d" % config.service.http_port
        status = None
        with httpx.Client(base_url=base_url, timeout=5) as client:
            for _ in range(START_TIMEOUT_SECONDS * 10):
                try:
                    status = client.get("/healthz").status_code
                    break
                except httpx.TransportError:
                    service.stop.wait(0.1)
        assert status == 200
    finally:
        service.stop.set()
        service.join()
    assert not any(thread.is_alive() for thread in service.threads)


def test_server_stop_ends_alert_stream(tmp_path, caplog):
    """An open alert stream ends by itself at shutdown: uvicorn neither cancels it nor logs an application error."""
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    with engine.begin() as conn:
        _, token = create_token(conn, name="viewer", role="viewer", now=NOW - timedelta(days=1))
    config = config_for(free_port())
    server = build_server(create_app(engine, config, fixed_clock), config.service)
    stop = threading.Event()
    thread = threading.Thread(target=serve_until, args=(server, stop))
    base_url = "http://127.0.0.1:%d" % config.service.http_port
    caplog.set_level(logging.INFO)
    thread.start()
    try:
        with httpx.Client(base_url=base_url, timeout=START_TIMEOUT_SECONDS) as client:
            for _ in range(START_TIMEOUT_SECONDS * 10):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    stop.wait(0.1)
            headers = {"Authorization": "Bearer " + token}
            with client.stream("GET", "/api/v1/alerts/stream", headers=headers) as response:
                chunks = response.iter_text()
                assert next(chunks).startswith("retry:")
                stop.set()
                rest = "".join(chunks)
    finally:
        stop.set()
        thread.join()
        engine.dispose()

    assert response.status_code == 200
    assert "event:" not in rest
    messages = [record.getMessage() for record in caplog.records]
    assert not any("Exception in ASGI application" in message for message in messages)
    assert not any("timeout graceful shutdown exceeded" in message for message in messages)
