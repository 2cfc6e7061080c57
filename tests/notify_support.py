"""Helpers for the notification tests: a settable clock, outbox rows, loopback receivers."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa

from inboxwatch.store.schema import outbox

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

# Shaped like store.alerts.notification_payload.
PAYLOAD = {
    "alert_id": None,
    "fingerprint": "9f2c41d0",
    "reason": "firing",
    "time": "2026-03-02T08:55:00+00:00",
    "rule": "provider_bounce_rate",
    "tenant": "default",
    "labels": {"tenant": "default", "provider": "microsoft"},
    "severity": "critical",
    "state": "firing",
    "summary": "Microsoft bounce rate 12.5% over 10%",
    "value": 0.125,
    "threshold": 0.1,
    "denominator": 4000,
    "pending_since": "2026-03-02T08:50:00+00:00",
    "fired_at": "2026-03-02T08:55:00+00:00",
    "resolved_at": None,
    "acknowledged_at": None,
    "acknowledged_by": None,
    "ack_note": None,
    "routes": ["critical-to-ops"],
}


class FakeClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, start: datetime = START) -> None:
        self.time = start

    def __call__(self) -> datetime:
        return self.time

    def advance(self, **delta: float) -> datetime:
        self.time += timedelta(**delta)
        return self.time


def insert_notification(
    engine: sa.Engine, key: str, channel: str = "hook", created_at: datetime = START, reason: str = "firing"
) -> int:
    """Insert one pending outbox row, as the alerting layer would, and return its id."""
    with engine.begin() as connection:
        result = connection.execute(
            outbox.insert().values(
                alert_id=None,
                channel=channel,
                reason=reason,
                payload=PAYLOAD,
                idempotency_key=key,
                status="pending",
                created_at=created_at,
                next_attempt_at=created_at,
                attempts=0,
            )
        )
        return result.inserted_primary_key[0]


def outbox_row(engine: sa.Engine, outbox_id: int) -> dict:
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(outbox).where(outbox.c.id == outbox_id)).mappings().one())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and replies with queued statuses.

    `replies` contains (status, headers) pairs used in order; once it is empty
    every request gets 200. The request numbered `stall_on_request`
    (counting from 1) gets no reply: its handler sets `stalled` and waits
    until `release` is set.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.replies: list[tuple[int, dict[str, str]]] = []
        self.stall_on_request: int | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d/hooks/inboxwatch?token=query-token" % self.server.server_address[1]

    @property
    def origin(self) -> str:
        """The receiver's base URL, for channels whose path is fixed by the provider's API."""
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def keys(self) -> list[str]:
        with self.lock:
            return [request["headers"]["Idempotency-Key"] for request in self.requests]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    reply = receiver.replies.pop(0) if receiver.replies else (200, {})
                    stalling = len(receiver.requests) == receiver.stall_on_request
                if stalling:
                    receiver.stalled.set()
                    receiver.release.wait()
                    return
                status, headers = reply
                content = json.dumps({"status": status}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format, *args) -> None:
                pass

        return Handler
