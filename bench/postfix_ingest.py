#!/usr/bin/env python3
"""Measure `inboxwatch ingest` on a generated Postfix log, side by side with pflogsumm.

Generates (once, cached under bench/out/) Postfix logs of the requested
sizes from the demo traffic generator, then for each size runs pflogsumm and
`inboxwatch ingest` into a fresh SQLite file, alternating, `--repeat` times.
Prints lines per second and peak resident memory (from wait4's rusage) as a
Markdown table, with medians.

    python3 bench/postfix_ingest.py --lines 1000000 --lines 250000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
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


def run_measured(argv: list[str]) -> tuple[float, int]:
    """Run a command, return (seconds, peak RSS in KiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("command failed: %s\n%s" % (" ".join(argv), stderr[-2000:]))
    return elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, action="append", help="log size in lines (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = args.lines or [1_000_000]
    pflogsumm = shutil.which("pflogsumm")
    inboxwatch = [sys.executable, "-m", "inboxwatch"]

    print("machine: %s, %d cores, Python %s" % (platform.processor() or platform.machine(), os.cpu_count(), platform.python_version()))
    print()
    print("| log lines | tool | median seconds | lines/s (median) | peak RSS MiB (median) |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for size in sizes:
        log_path = generate(size)
        results: dict[str, list[tuple[float, int]]] = {"pflogsumm": [], "inboxwatch ingest": []}
        for _ in range(args.repeat):
            if pflogsumm:
                results["pflogsumm"].append(run_measured([pflogsumm, str(log_path)]))
            db = OUT / "bench.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            results["inboxwatch ingest"].append(
                run_measured(inboxwatch + ["ingest", "--store", "sqlite:///%s" % db, str(log_path)])
            )
        for tool, runs in results.items():
            if not runs:
                print("| %d | %s | not installed | | |" % (size, tool))
                continue
            seconds = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs) / 1024
            print("| %d | %s | %.2f | %.0f | %.0f |" % (size, tool, seconds, size / seconds, rss))


if __name__ == "__main__":
    main()
