#!/usr/bin/env python3
"""Measure the overview API's response time over loopback on 30 days of rollups at a million events a day.

The overview reads only the rollups, so this script writes the rollup rows
directly in bulk: one per-minute row per minute and dimension combination.
It also writes the 15-minute and hourly rows that `store_events` keeps beside
them, each the sum of its minute rows. Ingesting 30 million events instead would take
hours and measure ingest rather than the overview. A store built before the
15-minute or hourly rollups existed gets them from the schema migrations when it is opened. Every minute gets the same number of
groups: `--ips` x `--domains` x `--campaigns` for each of seven providers,
with the day's volume split by the demo's provider mix and outcome rates
drawn around typical values (97% delivered, 2% deferred, 1.5% bounced,
0.1% complaints).

The server runs in a child process on 127.0.0.1 (a free port), so the
client does not share its interpreter. For each range (24h, 7d, 30d) the
script sends one warm-up request, then `--requests` sequential requests,
and prints the median and 95th percentile of the wall time per request.

    python3 bench/overview_latency.py                      # builds bench/out/overview.db once, then reuses it
    python3 bench/overview_latency.py --ranges 30d --requests 5
    python3 bench/overview_latency.py --ips 1 --domains 1  # fewer groups per minute
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import socket
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

from inboxwatch.config.models import Config
from inboxwatch.store.db import open_engine
from inboxwatch.store.rollups_quarter_hour import quarter_hour_start
from inboxwatch.store.schema import rollups, rollups_hourly, rollups_quarter_hour
from inboxwatch.store.tokens import create_token
from inboxwatch.web.app import create_app
from inboxwatch.web.server import build_server

# The demo traffic generator's provider mix (shares of a consumer list).
PROVIDERS = (("gmail", 0.42), ("microsoft", 0.20), ("yahoo", 0.12), ("apple", 0.08), ("gmx", 0.05), ("orange", 0.03), ("other", 0.10))
INSERT_BATCH = 20_000

DIMENSIONS = ("tenant", "provider", "sending_ip", "sending_domain", "campaign")


def rollup_rows(minute: datetime, per_minute: float, ips: int, domains: int, campaigns: int, rng: random.Random):
    groups = ips * domains * campaigns
    for provider, share in PROVIDERS:
        for number in range(groups):
            sent = max(1, round(rng.gauss(per_minute * share / groups, 1.0)))
            bounced = round(sent * rng.uniform(0.005, 0.025))
            deferred = round(sent * rng.uniform(0.0, 0.04))
            delivered = sent - bounced
            yield {
                "bucket": minute,
                "tenant": "default",
                "provider": provider,
                "sending_ip": "192.0.2.%d" % (10 + number % ips),
                "sending_domain": "mail%d.example.com" % (number // ips % domains),
                "campaign": "campaign-%d" % (number // (ips * domains)),
                "sent": sent,
                "delivered": delivered,
                "deferred": deferred,
                "bounced": bounced,
                "hard_bounced": bounced // 2,
                "complained": 1 if rng.random() < delivered * 0.001 else 0,
                "opened": 0,
                "clicked": 0,
                "unsubscribed": 0,
                "dropped": 0,
            }


def add_to_bucket(bucket_rows: dict[tuple, dict], bucket: datetime, row: dict) -> None:
    """Add a minute row's counters to the row of `bucket` (its hour or quarter hour) in `bucket_rows`."""
    key = (bucket,) + tuple(row[name] for name in DIMENSIONS)
    total = bucket_rows.get(key)
    if total is None:
        bucket_rows[key] = {**row, "bucket": bucket}
        return
    for name, value in row.items():
        if name != "bucket" and name not in DIMENSIONS:
            total[name] += value


def build_store(url: str, days: int, per_day: int, ips: int, domains: int, campaigns: int, now: datetime) -> int:
    """Write `days` of minute, 15-minute and hourly rollups ending at `now` and return the number of minute rows."""
    engine = open_engine(url)
    rng = random.Random(1)
    per_minute = per_day / 1440
    start = now.replace(second=0, microsecond=0) - timedelta(days=days)
    batch: list[dict] = []
    hour_rows: dict[tuple, dict] = {}
    quarter_rows: dict[tuple, dict] = {}
    written = 0
    with engine.begin() as conn:
        for index in range(days * 1440):
            minute = start + timedelta(minutes=index)
            rows = list(rollup_rows(minute, per_minute, ips, domains, campaigns, rng))
            batch.extend(rows)
            for row in rows:
                add_to_bucket(hour_rows, minute.replace(minute=0), row)
                add_to_bucket(quarter_rows, quarter_hour_start(minute), row)
            if len(batch) >= INSERT_BATCH:
                conn.execute(sa.insert(rollups), batch)
                written += len(batch)
                batch = []
            # Hours and their quarter hours are complete once the next minute starts a new hour.
            if (minute + timedelta(minutes=1)).minute == 0:
                conn.execute(sa.insert(rollups_hourly), list(hour_rows.values()))
                conn.execute(sa.insert(rollups_quarter_hour), list(quarter_rows.values()))
                hour_rows = {}
                quarter_rows = {}
        if batch:
            conn.execute(sa.insert(rollups), batch)
            written += len(batch)
        if hour_rows:
            conn.execute(sa.insert(rollups_hourly), list(hour_rows.values()))
            conn.execute(sa.insert(rollups_quarter_hour), list(quarter_rows.values()))
    engine.dispose()
    return written


def serve(url: str, port: int) -> None:
    """Run the application on 127.0.0.1:`port` until the parent terminates this process."""
    config = Config.model_validate({"service": {"http_host": "127.0.0.1", "http_port": port}})
    build_server(create_app(open_engine(url), config), config.service).run()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure(client: httpx.Client, range_name: str, requests: int) -> tuple[float, float, int]:
    """Return the median and p95 in milliseconds and the response size of `requests` sequential requests."""
    client.get("/api/v1/overview", params={"range": range_name}).raise_for_status()
    times = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/api/v1/overview", params={"range": range_name})
        response.raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
        size = len(response.content)
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)], size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="bench/out/overview.db", help="SQLite file; built when missing, reused when present")
    parser.add_argument("--days", type=int, default=30, help="days of rollups to write")
    parser.add_argument("--per-day", type=int, default=1_000_000, help="events sent per day")
    parser.add_argument("--ips", type=int, default=4, help="sending IPs")
    parser.add_argument("--domains", type=int, default=2, help="sending domains")
    parser.add_argument("--campaigns", type=int, default=1, help="campaigns")
    parser.add_argument("--requests", type=int, default=50, help="requests per range")
    parser.add_argument("--ranges", default="24h,7d,30d", help="comma-separated overview ranges to measure")
    args = parser.parse_args()

    path = Path(args.store)
    url = "sqlite:///%s" % path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        rows = build_store(url, args.days, args.per_day, args.ips, args.domains, args.campaigns, datetime.now(timezone.utc))
        print("wrote %d rollup rows in %.0f s" % (rows, time.perf_counter() - started))
    started = time.perf_counter()
    engine = open_engine(url)
    print("opened and migrated the store in %.1f s" % (time.perf_counter() - started))
    with engine.begin() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(rollups)).scalar_one()
        quarter_hour_rows = conn.execute(sa.select(sa.func.count()).select_from(rollups_quarter_hour)).scalar_one()
        hourly_rows = conn.execute(sa.select(sa.func.count()).select_from(rollups_hourly)).scalar_one()
        _, token = create_token(conn, name="bench-%d" % time.time_ns(), role="viewer", now=datetime.now(timezone.utc))
    engine.dispose()

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(url, port), daemon=True)
    server.start()
    base_url = "http://127.0.0.1:%d" % port
    try:
        with httpx.Client(base_url=base_url, timeout=120, headers={"Authorization": "Bearer " + token}) as client:
            for _ in range(600):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            print("machine: %s, %s, Python %s, %d CPUs" % (platform.machine(), platform.platform(), platform.python_version(), os.cpu_count() or 0))
            print(
                "store: %s, %d minute, %d 15-minute and %d hourly rollup rows" % (path, rows, quarter_hour_rows, hourly_rows)
            )
            for range_name in args.ranges.split(","):
                median, p95, size = measure(client, range_name, args.requests)
                print("range %-3s: median %.0f ms, p95 %.0f ms over %d requests (%d bytes per response)" % (range_name, median, p95, args.requests, size))
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
