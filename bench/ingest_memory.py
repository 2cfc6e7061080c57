"""Measure ingest throughput and peak memory on a generated Postfix log.

Usage: python bench/ingest_memory.py LINES [URL]
Writes a log of about LINES lines (four per message) to a temporary folder,
ingests it into a fresh store (a temporary SQLite file by default) and
prints the time taken and the peak resident memory. Peak memory that stays
the same as LINES grows shows that ingest streams.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time

from inboxwatch.service.ingest import ingest_paths
from inboxwatch.store.db import open_engine

DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "example.org")


def write_log(path: str, lines: int) -> None:
    with open(path, "w", encoding="utf-8") as log:
        for message in range(lines // 4):
            queue_id = "%010X" % message
            second = message // 100
            stamp = "Mar  3 %02d:%02d:%02d" % (second // 3600 % 24, second // 60 % 60, second % 60)
            recipient = "user%d@%s" % (message, DOMAINS[message % len(DOMAINS)])
            log.write("%s mx1 postfix/qmgr[2]: %s: from=<news@example.com>, size=1000, nrcpt=1 (queue active)\n" % (stamp, queue_id))
            log.write(
                "%s mx1 postfix/smtp[3]: %s: to=<%s>, relay=mx.example.net[198.51.100.1]:25, delay=1, "
                "delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)\n" % (stamp, queue_id, recipient)
            )
            log.write("%s mx1 postfix/qmgr[2]: %s: removed\n" % (stamp, queue_id))
            log.write("%s mx1 postfix/anvil[4]: statistics: max connection rate 1/60s\n" % stamp)


def main() -> None:
    lines = int(sys.argv[1])
    folder = tempfile.mkdtemp()
    url = sys.argv[2] if len(sys.argv) > 2 else "sqlite:///%s/store.db" % folder
    path = os.path.join(folder, "mail.log")
    write_log(path, lines)
    engine = open_engine(url)
    started = time.perf_counter()
    summary = ingest_paths(engine, [path])
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "%d lines, %d events stored in %.1f s (%.0f lines/s, %.0f events/s), peak RSS %.0f MiB"
        % (lines, summary.events_stored, elapsed, lines / elapsed, summary.events_stored / elapsed, peak_mib)
    )


if __name__ == "__main__":
    main()
