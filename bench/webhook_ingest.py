#!/usr/bin/env python3
"""Measure webhook ingest over loopback: signed SendGrid batches posted to a real uvicorn server.

By default the server is `inboxwatch serve` in its own process, as deployed,
over a new SQLite file. Every body is signed before the clock starts, and
`--concurrency` clients in this process post `--requests` batches of
`--batch` events. Afterwards the stored events are counted, to check that
none was lost.

`--in-process` reproduces the older setup instead: the server runs in a
thread of this process, and each client signs its body right before it
posts it, so the ECDSA signing and the HTTP client take CPU from the server.

Prints events per second of wall time (first request to last response) and
the server's CPU time per event, which varies less on a busy machine.

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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

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

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

SERVER_START_TIMEOUT_SECONDS = 60

# A request's headers for its body; the in-process mode signs inside this call.
Signer = Callable[[bytes], dict[str, str]]


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


def signed_headers(key: ec.EllipticCurvePrivateKey, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: timestamp}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def post_all(base_url: str, bodies: list[bytes], sign: Signer, concurrency: int) -> list[int]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    statuses: list[int] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            response = await client.post("/webhooks/sendgrid", content=body, headers=sign(body))
            statuses.append(response.status_code)

    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return statuses


def process_cpu_seconds(pid: int) -> float:
    """Return the user plus system CPU time of a process, read from /proc (Linux)."""
    with open("/proc/%d/stat" % pid) as stat:
        # Fields after the command name, which is in brackets and may contain spaces.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_serving(base_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the server exited with status %d before it served; see its log above" % server.returncode)
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.terminate()
    sys.exit("the server did not answer /healthz within %d s" % SERVER_START_TIMEOUT_SECONDS)


def run_server_process(folder: str, store_url: str, public_key: str, bodies: list[bytes], key, concurrency: int):
    """Post every body, pre-signed, to `inboxwatch serve` in its own process; return (statuses, seconds, server CPU s)."""
    port = free_port()
    config_path = os.path.join(folder, "inboxwatch.toml")
    with open(config_path, "w") as config_file:
        config_file.write('[webhooks.sendgrid]\nsecret = "%s"\n' % public_key)
    command = [sys.executable, "-m", "inboxwatch", "serve", "--config", config_path, "--store", store_url]
    server = subprocess.Popen(command + ["--host", "127.0.0.1", "--port", str(port)])
    base_url = "http://127.0.0.1:%d" % port
    try:
        wait_until_serving(base_url, server)
        headers = {body: signed_headers(key, body) for body in bodies}
        cpu_started = process_cpu_seconds(server.pid)
        started = time.perf_counter()
        statuses = asyncio.run(post_all(base_url, bodies, headers.__getitem__, concurrency))
        elapsed = time.perf_counter() - started
        cpu = process_cpu_seconds(server.pid) - cpu_started
    finally:
        server.terminate()
        server.wait(timeout=60)
    return statuses, elapsed, cpu


def run_in_process(store_url: str, public_key: str, bodies: list[bytes], key, concurrency: int):
    """Post every body to a server thread of this process, signing each one as it goes; return (statuses, seconds, CPU s).

    The CPU time is this whole process's: server, clients and signing.
    """
    engine = open_engine(store_url)
    port = free_port()
    config = Config.model_validate({"service": {"http_port": port}, "webhooks": {"sendgrid": {"secret": public_key}}})
    server = build_server(create_app(engine, config), config.service)
    stop = threading.Event()
    thread = threading.Thread(target=serve_until, args=(server, stop))
    thread.start()
    while not server.started:
        stop.wait(0.05)

    cpu_started = time.process_time()
    started = time.perf_counter()
    statuses = asyncio.run(post_all("http://127.0.0.1:%d" % port, bodies, lambda body: signed_headers(key, body), concurrency))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    stop.set()
    thread.join()
    engine.dispose()
    return statuses, elapsed, cpu


def count_stored(store_url: str) -> int:
    engine = open_engine(store_url, migrate=False)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    engine.dispose()
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="number of POST requests")
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the server in a thread of this process and sign each request while timing (the older setup)",
    )
    args = parser.parse_args()

    key = ec.generate_private_key(ec.SECP256R1())
    public_key = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    bodies = [batch(number, args.batch) for number in range(args.requests)]
    with tempfile.TemporaryDirectory() as folder:
        store_url = "sqlite:///%s" % os.path.join(folder, "bench.db")
        if args.in_process:
            statuses, elapsed, cpu = run_in_process(store_url, public_key, bodies, key, args.concurrency)
        else:
            statuses, elapsed, cpu = run_server_process(folder, store_url, public_key, bodies, key, args.concurrency)
        stored = count_stored(store_url)

    sent = args.requests * args.batch
    failed = sum(1 for status in statuses if status != 200)
    setup = "server thread in this process, signing while timed" if args.in_process else "server process, bodies signed before timing"
    print("machine: %s, %s, Python %s, %d CPUs" % (platform.machine(), platform.platform(), platform.python_version(), os.cpu_count() or 0))
    print("load average (1, 5, 15 minutes): %.2f %.2f %.2f" % os.getloadavg())
    print("setup: %s" % setup)
    print("requests: %d of %d events, %d in flight, %d not 200" % (args.requests, args.batch, args.concurrency, failed))
    print("events sent %d, stored %d, lost %d" % (sent, stored, sent - stored))
    print("wall time %.2f s: %.0f events/s, %.1f requests/s" % (elapsed, sent / elapsed, args.requests / elapsed))
    cpu_owner = "this process" if args.in_process else "server"
    print("%s CPU %.2f s: %.0f µs per event" % (cpu_owner, cpu, cpu / sent * 1e6))


if __name__ == "__main__":
    main()
