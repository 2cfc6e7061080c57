#!/usr/bin/env python3
"""Measure bounce parsing: inboxwatch beside Sisimai on the same emails, in one run.

Each round parses every file of FOLDER in a fresh child process per tool:

- inboxwatch through `parse_path`, as `inboxwatch parse` does, once with
  format detection and once with the kind given (`--kind bounce`);
- Sisimai (Perl, Debian package `libsisimai-perl`) through `Sisimai->make`
  on each file, with success notices and vacation replies included so that
  both tools read every message.

Rates count parse time only, measured inside the child, in emails per
wall-clock second and per CPU second (steadier on a shared machine). The
tools run in turn within each round, so load from other processes falls on
all of them alike. Each figure is the median of `--rounds` rounds.

    python3 bench/bounce_parse.py FOLDER --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

# Child programs: each prints {"emails": N, "records": N, "errors": N, "seconds": S, "cpu_seconds": S}.
INBOXWATCH_CHILD = """
import json, sys, time
from pathlib import Path
from inboxwatch.parsers.registry import all_parsers
from inboxwatch.sources.files import parse_path
all_parsers()  # imports every parser module, as `use Sisimai` loads Sisimai before its clock starts
files = sorted(str(path) for path in Path(sys.argv[1]).iterdir() if path.is_file())
kind = sys.argv[2] or None
records = errors = 0
started = time.perf_counter()
cpu_started = time.process_time()
for path in files:
    outcome = parse_path(path, kind)
    records += len(outcome.records)
    errors += outcome.error is not None
print(json.dumps({"emails": len(files), "records": records, "errors": errors,
                  "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}))
"""

# Sisimai->make returns undef for a message it finds no bounce in, which counts as an error here.
SISIMAI_CHILD = r"""
use strict;
use warnings;
use Sisimai;
use Time::HiRes qw(time);
my $folder = shift;
opendir(my $handle, $folder) or die "cannot open $folder: $!";
my @files = sort grep { -f "$folder/$_" } readdir($handle);
closedir($handle);
my ($records, $errors) = (0, 0);
my $started = time;
my $cpu_started = (times)[0] + (times)[1];
for my $name (@files) {
    my $found = Sisimai->make("$folder/$name", delivered => 1, vacation => 1);
    if ($found) { $records += scalar @$found } else { $errors++ }
}
my $seconds = time - $started;
my $cpu_seconds = (times)[0] + (times)[1] - $cpu_started;
printf "{\"emails\": %d, \"records\": %d, \"errors\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f}\n",
    scalar @files, $records, $errors, $seconds, $cpu_seconds;
"""

TOOLS = {
    "inboxwatch (detection)": lambda folder: [sys.executable, "-c", INBOXWATCH_CHILD, folder, ""],
    "inboxwatch (--kind bounce)": lambda folder: [sys.executable, "-c", INBOXWATCH_CHILD, folder, "bounce"],
    "Sisimai": lambda folder: ["perl", "-MSisimai", "-e", SISIMAI_CHILD, folder],
}


def run_child(command: list[str]) -> dict:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit("benchmark child failed: %s: %s" % (command[0], completed.stderr.strip()[-2000:]))
    return json.loads(completed.stdout.strip().splitlines()[-1])


def sisimai_version() -> str:
    completed = subprocess.run(
        ["perl", "-MSisimai", "-e", "print $Sisimai::VERSION"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder of bounce emails, one message per file")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per tool; figures are medians (default 3)")
    args = parser.parse_args()
    folder = os.path.abspath(args.folder)

    results: dict[str, list[dict]] = {name: [] for name in TOOLS}
    for _ in range(args.rounds):
        for name, command in TOOLS.items():
            results[name].append(run_child(command(folder)))

    print("machine: %s, %d CPUs, Python %s, Sisimai %s, load average %.1f"
          % (platform.machine(), os.cpu_count() or 0, platform.python_version(), sisimai_version(), os.getloadavg()[0]))
    print("| tool | emails | records | no result | emails/s (wall) | emails/s (CPU) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, rounds in results.items():
        emails = rounds[0]["emails"]
        wall = statistics.median(emails / item["seconds"] for item in rounds)
        cpu = statistics.median(emails / item["cpu_seconds"] for item in rounds if item["cpu_seconds"] > 0)
        print("| %s | %d | %d | %d | %.0f | %.0f |" % (name, emails, rounds[0]["records"], rounds[0]["errors"], wall, cpu))


if __name__ == "__main__":
    main()
