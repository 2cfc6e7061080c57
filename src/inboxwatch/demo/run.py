"""`inboxwatch demo`: the whole pipeline on a generated day of traffic.

A temporary folder contains a generated Postfix log and an SQLite store. The
log is ingested, every rule is evaluated minute by minute over the day, the
notifications are sent to a webhook receiver on loopback that the demo runs
itself, and the findings are printed. The folder is removed at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa

from inboxwatch.config.loader import validate_config
from inboxwatch.config.models import Config
from inboxwatch.demo.peaks import AlertPeak, alert_peaks
from inboxwatch.demo.traffic import Incident, Instance, TrafficPlan, generate_postfix_log
from inboxwatch.model.alerts import Alert, AlertState
from inboxwatch.notify.channels import build_channels
from inboxwatch.notify.sender import DrainSummary, OutboxSender
from inboxwatch.service.evaluate import evaluate_range
from inboxwatch.service.ingest import IngestOptions, IngestSummary, ingest_paths
from inboxwatch.store.alerts import list_alerts
from inboxwatch.store.db import open_engine
from inboxwatch.store.metrics import CountRow, query_counts

log = logging.getLogger(__name__)

DEMO_MESSAGES = 20_000
DEMO_INSTANCES = (Instance("postfix-out1", "203.0.113.10"), Instance("postfix-out2", "203.0.113.11"))
DEMO_CHANNEL = "demo-webhook"


@dataclasses.dataclass
class DemoResult:
    day: datetime
    log_lines: int
    ingest: IngestSummary
    by_provider: list[CountRow]
    by_ip: list[CountRow]
    alerts: list[Alert]
    notifications: DrainSummary
    received: list[dict]
    # The worst value of each threshold alert while it fired, by alert id.
    peaks: dict[int, AlertPeak] = dataclasses.field(default_factory=dict)


class _Receiver(BaseHTTPRequestHandler):
    """A webhook receiver on loopback that records what it is sent."""

    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            self.received.append(json.loads(body))
        except ValueError:
            self.received.append({"invalid": body[:200].decode(errors="replace")})
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        return


def demo_day(now: datetime) -> datetime:
    """Return the day the demo replays: yesterday, in UTC."""
    return (now - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


# The demo's day is small (tens of thousands of messages), so its rules judge
# 15-minute windows per provider and sending IP with a lower minimum volume
# than the built-in defaults, which suit larger senders. The Wilson bound
# keeps one bounce among forty messages from firing.
DEMO_RULES = {
    name: {"group_by": ["provider", "sending_ip"], "window": "15m", "for": "5m", "min_volume": 30, "use_wilson": True}
    for name in ("delivery_rate", "bounce_rate", "hard_bounce_rate")
}


def demo_config(store_url: str, receiver_url: str) -> Config:
    return validate_config(
        {
            "store": {"url": store_url, "recipient_retention": "domain"},
            "rules": DEMO_RULES,
            "channels": [{"name": DEMO_CHANNEL, "type": "webhook", "url": receiver_url, "secret": "demo-secret"}],
        },
        source="the demo configuration",
    )


def run_demo(
    *,
    messages: int = DEMO_MESSAGES,
    now: datetime | None = None,
    progress: Callable[[str], None] = lambda _message: None,
) -> DemoResult:
    now = now or datetime.now(timezone.utc)
    day = demo_day(now)
    plan = TrafficPlan(
        start=day,
        duration=timedelta(days=1),
        messages=messages,
        seed=42,
        instances=DEMO_INSTANCES,
        incidents=(Incident("microsoft", "postfix-out2", day + timedelta(hours=13), day + timedelta(hours=14)),),
    )

    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="inboxwatch-demo-") as folder:
            return _run_in(Path(folder), plan, day, server, progress)
    finally:
        server.shutdown()
        server.server_close()


def _run_in(folder: Path, plan: TrafficPlan, day: datetime, server: ThreadingHTTPServer, progress) -> DemoResult:
    log_path = folder / "mail.log"
    progress("Generating a day of outbound Postfix traffic (%d messages)..." % plan.messages)
    lines = 0
    with open(log_path, "w") as handle:
        for line in generate_postfix_log(plan):
            handle.write(line + "\n")
            lines += 1

    store_url = "sqlite:///%s" % (folder / "demo.db")
    receiver_url = "http://127.0.0.1:%d/hook" % server.server_address[1]
    config = demo_config(store_url, receiver_url)
    engine = open_engine(store_url)
    try:
        progress("Ingesting %d log lines..." % lines)
        options = IngestOptions(
            tenant=config.tenant,
            recipient_retention="domain",
            instance_ips={instance.syslog_name: instance.ip for instance in plan.instances},
            # The log's yearless syslog times belong to the demo day.
            reference_time=day + timedelta(days=1),
        )
        ingest = ingest_paths(engine, [str(log_path)], kind="postfix", options=options)

        progress("Evaluating the alert rules minute by minute over the day...")
        evaluations = evaluate_range(engine, config, day, day + timedelta(days=1), timedelta(minutes=1))
        directions = {name: rule.direction for name, rule in config.enabled_rules().items()}
        peaks = alert_peaks(evaluations, directions)

        progress("Sending the notifications to a webhook receiver on loopback...")
        channels = build_channels(config.channels, lambda: datetime.now(timezone.utc))
        sender = OutboxSender(engine, channels, lambda: datetime.now(timezone.utc))
        notifications = asyncio.run(sender.drain_once())

        with engine.connect() as conn:
            window = {"start": day, "end": day + timedelta(days=1)}
            by_provider = query_counts(conn, group_by=("provider",), **window)
            by_ip = query_counts(conn, group_by=("sending_ip", "provider"), **window)
            alerts = list_alerts(conn, states=tuple(AlertState), limit=1000)
    finally:
        engine.dispose()
    return DemoResult(day, lines, ingest, by_provider, by_ip, alerts, notifications, list(_Receiver.received), peaks)
