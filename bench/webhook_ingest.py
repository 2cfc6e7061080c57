#!/usr/bin/env python3
"""Measure webhook ingest over loopback: signed SendGrid batches posted to a real uvicorn server.

Starts the application on 127.0.0.1 (a free port) over a new SQLite file,
posts `--requests` batches of `--batch` events from `--concurrency` clients
at once, then counts the stored events to check that none was lost.
Prints events per second of wall time, from the first request to the last
2xx. The clients run in the same process as the server, so they share its
CPU: the figure is a lower bound for a server on its own.

    python3 bench/webhook_ingest.py --requests 200 --batch 100 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import socket
import tempfile
import threading
import time

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from inboxwatch.config.models import Config
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import events
from inboxwatch.web.app import create_app
from inboxwatch.web.server import build_server, serve_until

PROVIDER_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "example.org")


def batch(request_number: int, size: int) -> bytes:
    now = int(time.time())
    return json.dumps(
        [
            {
                "email": "r%d@%s" % (number, PROVIDER_DOMAINS[number % len(PROVIDER_DOMAINS)]),
                "timestamp": now - 60,
                "event": "delivered",
                "sg_event_id": "bench-%d-%d" % (request_number, number),
                "ip": "192.0.2.1",
                "response": "250 2.0.0 OK",
            }
            for number in range(size)
        ]
    ).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def post_all(base_url: str, bodies: list[bytes], key: ec.EllipticCurvePrivateKey, concurrency: int) -> list[int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: list[int] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            timestamp = str(int(time.time()))
            signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
            headers = {
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            }
            response = await client.post("/webhooks/sendgrid", content=body, headers=headers)
            statuses.append(response.status_code)

    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="number of POST requests")
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    public_key = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine("sqlite:///%s" % os.path.join(folder, "bench.db"))
        port = free_port()
        config = Config.model_validate(
            {"service": {"http_port": port}, "webhooks": {"sendgrid": {"secret": public_key}}}
        )
        server = build_server(create_app(engine, config), config.service)
        stop = threading.Event()
        thread = threading.Thread(target=serve_until, args=(server, stop))
        thread.start()
        while not server.started:
            stop.wait(0.05)

        bodies = [batch(number, args.batch) for number in range(args.requests)]
        started = time.perf_counter()
        statuses = asyncio.run(post_all("http://127.0.0.1:%d" % port, bodies, key, args.concurrency))
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join()

        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
        engine.dispose()

    sent = args.requests * args.batch
    failed = sum(1 for status in statuses if status != 200)
    print("machine: %s, %s, Python %s, %d CPUs" % (platform.machine(), platform.platform(), platform.python_version(), os.cpu_count() or 0))
    print("requests: %d of %d events, %d in flight, %d not 200" % (args.requests, args.batch, args.concurrency, failed))
    print("events sent %d, stored %d, lost %d" % (sent, stored, sent - stored))
    print("wall time %.2f s: %.0f events/s, %.1f requests/s" % (elapsed, sent / elapsed, args.requests / elapsed))


if __name__ == "__main__":
    main()
