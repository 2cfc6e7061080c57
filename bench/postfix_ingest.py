#!/usr/bin/env python3
"""Measure `inboxwatch ingest` on a generated Postfix log, side by side with pflogsumm.

Generates (once, cached under bench/out/) Postfix logs of the requested
sizes from the demo traffic generator, then for each size runs pflogsumm and
`inboxwatch ingest` into a fresh SQLite file, alternating, `--repeat` times.
Prints wall seconds, lines per second, CPU seconds and peak resident memory
(from wait4's rusage, which covers the process and the children it waited
for) as a Markdown table, with medians.

The generated log names two Postfix instances, postfix-out1 and
postfix-out2. pflogsumm reads only lines whose syslog name is "postfix" or
its --syslog-name value, which it places in a regular expression, so it is
given "postfix-out[0-9]+"; without it, it reads none of the lines. The
script checks that pflogsumm's "delivered" count equals the delivered
events inboxwatch stored, so both read the same lines.

`--before DIR` also runs `inboxwatch ingest` from another copy of the
package (DIR holds an `inboxwatch` package), for before-and-after runs:

    git archive HEAD src/inboxwatch | tar -x -C /tmp/before
    python3 bench/postfix_ingest.py --lines 1000000 --repeat 3 --before /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from inboxwatch.demo.traffic import Incident, TrafficPlan, generate_postfix_log

OUT = Path(__file__).resolve().parent / "out"

# The generator writes about 4.9 lines per message.
LINES_PER_MESSAGE = 4.9


def generate(lines: int) -> Path:
    path = OUT / ("postfix-%d.log" % lines)
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 11, 2)
    plan = TrafficPlan(
        start=start,
        duration=timedelta(days=7),
        messages=int(lines / LINES_PER_MESSAGE),
        seed=7,
        incidents=[Incident("microsoft", "postfix-out2", start + timedelta(days=2, hours=13), start + timedelta(days=2, hours=14))],
    )
    written = 0
    with open(path.with_suffix(".tmp"), "w") as handle:
        for line in generate_postfix_log(plan):
            handle.write(line + "\n")
            written += 1
            if written >= lines:
                break
    os.rename(path.with_suffix(".tmp"), path)
    return path


PFLOGSUMM_SYSLOG_NAME = "postfix-out[0-9]+"


def measured(argv: list[str], env: dict | None = None) -> tuple[float, float, int, str]:
    """Run a command; return (wall seconds, CPU seconds, peak RSS in KiB, standard output)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=env)
        # Read the output while waiting, so a full pipe cannot stall the command.
        stdout = process.stdout.read() if process.stdout else b""
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("command failed: %s\n%s" % (" ".join(argv), stderr.decode(errors="replace")[-2000:]))
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stdout.decode(errors="replace")


def pflogsumm_delivered(report: str) -> int:
    match = re.search(r"^\s*(\d+)\s+delivered$", report, re.MULTILINE)
    return int(match.group(1)) if match else -1


def stored_delivered(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM events WHERE type = 'delivered'").fetchone()[0]


def fresh_db() -> Path:
    db = OUT / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, action="append", help="log size in lines (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", help="a folder holding another copy of the inboxwatch package, run as well")
    args = parser.parse_args()
    sizes = args.lines or [1_000_000]
    pflogsumm = shutil.which("pflogsumm")
    command = [sys.executable, "-m", "inboxwatch", "ingest", "--store"]
    tools: dict[str, dict | None] = {"inboxwatch ingest": None}
    if args.before:
        tools["inboxwatch ingest (before)"] = dict(os.environ, PYTHONPATH=args.before)

    print("machine: %s, %d cores, Python %s" % (platform.processor() or platform.machine(), os.cpu_count(), platform.python_version()))
    print("load average before: %.1f %.1f %.1f" % os.getloadavg())
    print()
    print("| log lines | tool | median wall s | lines/s (median) | median CPU s | peak RSS MiB (median) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for size in sizes:
        log_path = generate(size)
        results: dict[str, list[tuple[float, float, int]]] = {"pflogsumm": []}
        results.update({tool: [] for tool in tools})
        for _ in range(args.repeat):
            if pflogsumm:
                wall, cpu, rss, report = measured([pflogsumm, "--syslog-name=" + PFLOGSUMM_SYSLOG_NAME, str(log_path)])
                results["pflogsumm"].append((wall, cpu, rss))
                delivered = pflogsumm_delivered(report)
            for tool, env in tools.items():
                db = fresh_db()
                wall, cpu, rss, _ = measured(command + ["sqlite:///%s" % db, str(log_path)], env=env)
                results[tool].append((wall, cpu, rss))
                if pflogsumm and stored_delivered(db) != delivered:
                    raise SystemExit("%s stored %d delivered events, pflogsumm counted %d" % (tool, stored_delivered(db), delivered))
        for tool, runs in results.items():
            if not runs:
                print("| %d | %s | not installed | | | |" % (size, tool))
                continue
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            rss = statistics.median(r[2] for r in runs) / 1024
            print("| %d | %s | %.2f | %.0f | %.2f | %.0f |" % (size, tool, wall, size / wall, cpu, rss))
    print()
    print("load average after: %.1f %.1f %.1f" % os.getloadavg())


if __name__ == "__main__":
    main()
