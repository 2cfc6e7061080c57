"""Measure `store_events` throughput: synthetic events into a fresh database.

Usage: python bench/store_events.py [URL] [COUNT] [BATCH]
Default: a temporary SQLite file, 200000 events, batches of 5000.
Prints wall time and this process's CPU time: on a shared machine the CPU
time varies less, but it leaves out the database server's work on PostgreSQL.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store.db import open_engine
from inboxwatch.store.events import store_events

TYPES = (EventType.SENT, EventType.DELIVERED, EventType.DELIVERED, EventType.DEFERRED, EventType.BOUNCED)
DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "example.org", "icloud.com")


def synthetic_events(count: int):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for number in range(count):
        event_type = TYPES[number % len(TYPES)]
        yield DeliveryEvent(
            type=event_type,
            time=start + timedelta(seconds=number // 50),
            source="bench",
            event_id="event-%d" % number,
            recipient="user%d@%s" % (number, DOMAINS[number % len(DOMAINS)]),
            sending_ip="192.0.2.%d" % (number % 4),
            sending_domain="mail.example.com",
            queue_id="Q%08X" % number,
            smtp_code=250 if event_type is EventType.DELIVERED else 550,
            hard=True if event_type is EventType.BOUNCED else None,
        )


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "sqlite:///%s/bench.db" % tempfile.mkdtemp()
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    engine = open_engine(url)
    events = list(synthetic_events(count))
    for label in ("first ingest", "same events again"):
        started = time.perf_counter()
        cpu_started = time.process_time()
        stored = duplicates = 0
        for offset in range(0, count, batch_size):
            with engine.begin() as conn:
                counts = store_events(conn, events[offset : offset + batch_size], ingest_id=None)
            stored += counts.stored
            duplicates += counts.duplicates
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        print(
            "%s: %d events in %.2f s, %.0f events/s; CPU %.2f s, %.0f events per CPU second (stored %d, duplicates %d)"
            % (label, count, elapsed, count / elapsed, cpu, count / cpu, stored, duplicates)
        )
    engine.dispose()


if __name__ == "__main__":
    main()
