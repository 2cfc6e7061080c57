#!/usr/bin/env python3
"""Measure the Postfix log parser alone: lines per second, in CPU time.

Parses a log held in memory `--repeat` times and prints the best run, so
disk speed and other processes on the machine count as little as possible.
Without FILE, the log comes from the demo traffic generator, which writes
only lines the parser acts on, the slowest case. A real server's log is
mostly connection, TLS and other programs' lines, which the parser skips.

    python3 bench/parse_postfix.py --lines 200000
    python3 bench/parse_postfix.py /var/log/mail.log --copies 20
"""

from __future__ import annotations

import argparse
import io
import platform
import time
from datetime import datetime, timedelta, timezone

from inboxwatch.demo.traffic import TrafficPlan, generate_postfix_log
from inboxwatch.parsers import exim, postfix
from inboxwatch.parsers.base import ParseContext

# The demo generator writes about 4.9 lines per message.
LINES_PER_MESSAGE = 4.9


def generated_log(lines: int) -> bytes:
    plan = TrafficPlan(start=datetime(2026, 11, 2), duration=timedelta(days=1), messages=int(lines / LINES_PER_MESSAGE))
    return ("\n".join(generate_postfix_log(plan)) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", help="a log file to parse; generated when absent")
    parser.add_argument("--kind", choices=("postfix", "exim"), default="postfix")
    parser.add_argument("--lines", type=int, default=200_000, help="lines to generate when no FILE is given")
    parser.add_argument("--copies", type=int, default=1, help="concatenate FILE this many times")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    if args.file:
        with open(args.file, "rb") as handle:
            data = handle.read() * args.copies
    else:
        data = generated_log(args.lines)
    module = postfix if args.kind == "postfix" else exim
    context = ParseContext(reference_time=datetime(2027, 1, 1, tzinfo=timezone.utc))
    lines = data.count(b"\n")

    best = float("inf")
    items = 0
    for _ in range(args.repeat):
        started = time.process_time()
        items = sum(1 for _ in module.PARSER.parse(io.BytesIO(data), context))
        best = min(best, time.process_time() - started)
    print("%s: %d lines, %d items, best CPU time %.2f s, %.0f lines/s (Python %s, %s)" % (
        args.kind, lines, items, best, lines / best, platform.python_version(), platform.processor() or platform.machine(),
    ))


if __name__ == "__main__":
    main()
