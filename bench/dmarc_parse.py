#!/usr/bin/env python3
"""Measure DMARC aggregate report parsing: inboxwatch beside parsedmarc on the same files.

Generates a folder of aggregate reports, a quarter each as plain XML, gzip,
zip and email with a gzip attachment. Then it parses every file in a fresh
child process per tool and round. inboxwatch goes through `parse_path`
(format detection unless `--kind` names the format, unpacking, parsing, as
`inboxwatch parse` does). parsedmarc goes through
`parse_report_file(offline=True, always_use_local_files=True)`, so it makes
no DNS or HTTP requests. Rates count parse time only, measured inside the
child after its imports. inboxwatch imports its parser modules on first
use, so its child loads them with `all_parsers()` before the clock starts,
as parsedmarc's child imports `parsedmarc`. Peak memory is the child's
maximum resident set size. Rates are given per CPU second (steadier on a
shared machine) and per wall-clock second. Each figure is the median of
`--rounds` rounds.

parsedmarc runs from its own virtual environment so that its dependencies
stay out of the project's:

    python3.11 -m venv bench/out/parsedmarc-venv
    bench/out/parsedmarc-venv/bin/pip install parsedmarc
    python3 bench/dmarc_parse.py --reports 1000

`--baseline FOLDER` also measures another copy of the `inboxwatch` package
(FOLDER contains its `inboxwatch` directory, for example an export of an
earlier commit's `src`) in the same rounds, to compare a change before and
after under the same load:

    mkdir -p /tmp/before && git archive HEAD src | tar -x -C /tmp/before
    python3 bench/dmarc_parse.py --baseline /tmp/before/src
"""

from __future__ import annotations

import argparse
import email.message
import gzip
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

BENCH_OUT = Path(__file__).resolve().parent / "out"
PARSEDMARC_PYTHON = BENCH_OUT / "parsedmarc-venv" / "bin" / "python"
DAY_SECONDS = 86400
FIRST_DAY = 1793491200  # 2026-11-01 00:00:00 UTC
CONTAINERS = ("xml", "gz", "zip", "eml")

RECORD = """  <record>
    <row>
      <source_ip>{ip}</source_ip>
      <count>{count}</count>
      <policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated>
    </row>
    <identifiers><header_from>{domain}</header_from></identifiers>
    <auth_results>
      <dkim><domain>{domain}</domain><selector>s{selector}</selector><result>{dkim}</result></dkim>
      <spf><domain>bounce.{domain}</domain><scope>mfrom</scope><result>{spf}</result></spf>
    </auth_results>
  </record>
"""

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>{org}</org_name>
    <email>noreply-dmarc@{org}.example</email>
    <report_id>{report_id}</report_id>
    <date_range><begin>{begin}</begin><end>{end}</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>quarantine</p><sp>quarantine</sp><pct>100</pct>
  </policy_published>
{records}</feedback>
"""

# Child programs: each prints {"reports": N, "errors": N, "seconds": S, "cpu_seconds": S}.
INBOXWATCH_CHILD = """
import json, sys, time
from pathlib import Path
from inboxwatch.parsers.registry import all_parsers
from inboxwatch.sources.files import parse_path
all_parsers()
files = sorted(str(path) for path in Path(sys.argv[1]).iterdir())
kind = sys.argv[2] or None
reports = errors = 0
started = time.perf_counter()
cpu_started = time.process_time()
for path in files:
    outcome = parse_path(path, kind)
    reports += len(outcome.records)
    errors += outcome.error is not None
print(json.dumps({"reports": reports, "errors": errors, "seconds": time.perf_counter() - started,
                  "cpu_seconds": time.process_time() - cpu_started}))
"""

PARSEDMARC_CHILD = """
import json, sys, time
from pathlib import Path
import parsedmarc
files = sorted(str(path) for path in Path(sys.argv[1]).iterdir())
reports = errors = 0
started = time.perf_counter()
cpu_started = time.process_time()
for path in files:
    try:
        parsedmarc.parse_report_file(path, offline=True, always_use_local_files=True)
        reports += 1
    except Exception:
        errors += 1
print(json.dumps({"reports": reports, "errors": errors, "seconds": time.perf_counter() - started,
                  "cpu_seconds": time.process_time() - cpu_started}))
"""


def report_xml(number: int, rng: random.Random) -> bytes:
    domain = "sender%d.example" % (number % 7)
    begin = FIRST_DAY + (number % 30) * DAY_SECONDS
    records = []
    # Most reports name a handful of sources; a few large receivers name many.
    for _ in range(rng.choice((1, 1, 2, 3, 4, 6, 10, 25))):
        passes = rng.random() < 0.9
        records.append(
            RECORD.format(
                ip="%d.%d.%d.%d" % (rng.choice((192, 198, 203)), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)),
                count=rng.randrange(1, 5000),
                disposition="none" if passes else rng.choice(("none", "quarantine")),
                dkim="pass" if passes else "fail",
                spf="pass" if passes or rng.random() < 0.3 else "fail",
                domain=domain,
                selector=number % 3,
            )
        )
    text = REPORT.format(
        org=rng.choice(("google.com", "Yahoo", "Mail.Ru", "enterprise.protection.outlook.com")),
        report_id="bench-%06d" % number,
        begin=begin,
        end=begin + DAY_SECONDS - 1,
        domain=domain,
        records="".join(records),
    )
    return text.encode("utf-8")


def wrap(xml: bytes, container: str, number: int) -> tuple[str, bytes]:
    name = "report-%06d" % number
    if container == "xml":
        return name + ".xml", xml
    if container == "gz":
        return name + ".xml.gz", gzip.compress(xml, mtime=0)
    if container == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name + ".xml", xml)
        return name + ".zip", buffer.getvalue()
    message = email.message.EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["To"] = "dmarc@sender.example"
    message["Subject"] = "Report domain: sender.example Submitter: google.com Report-ID: %d" % number
    message.set_content("This is an aggregate report.")
    message.add_attachment(gzip.compress(xml, mtime=0), maintype="application", subtype="gzip", filename=name + ".xml.gz")
    return name + ".eml", message.as_bytes()


def generate(folder: Path, count: int, seed: int) -> int:
    """Write `count` reports into `folder`, replacing what is there; return the total bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    rng = random.Random(seed)
    total = 0
    for number in range(count):
        name, data = wrap(report_xml(number, rng), CONTAINERS[number % len(CONTAINERS)], number)
        (folder / name).write_bytes(data)
        total += len(data)
    return total


def run_child(python: str, program: str, folder: Path, kind: str, python_path: str | None = None) -> dict:
    """Run one parse in a child process; return its output with its peak resident memory in MiB.

    `python_path`, when given, is put first on the child's PYTHONPATH, so the
    child imports the `inboxwatch` package found there.
    """
    environment = None
    if python_path is not None:
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (python_path, os.environ.get("PYTHONPATH"))))}
    process = subprocess.Popen(
        [python, "-c", program, str(folder), kind], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError("%s exited with status %d" % (python, process.returncode))
    result = json.loads(output)
    # Linux reports ru_maxrss in KiB.
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1000, help="reports to generate")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per tool; medians are printed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=BENCH_OUT / "dmarc-reports")
    parser.add_argument(
        "--kind", default="", help="pass this kind to inboxwatch (dmarc-aggregate) instead of detecting each file's format"
    )
    parser.add_argument(
        "--baseline",
        metavar="FOLDER",
        help="also measure the inboxwatch package in FOLDER (the folder that contains its inboxwatch directory)",
    )
    args = parser.parse_args()

    size = generate(args.folder, args.reports, args.seed)
    print("%d reports (%s), %.1f MB in %s" % (args.reports, ", ".join(CONTAINERS), size / 1e6, args.folder))
    print("inboxwatch format: %s" % (args.kind or "detected per file"))
    tools = {"inboxwatch": (sys.executable, INBOXWATCH_CHILD, None)}
    if args.baseline:
        if not (Path(args.baseline) / "inboxwatch").is_dir():
            parser.error("--baseline %s: no inboxwatch package folder in it" % args.baseline)
        tools["inboxwatch baseline"] = (sys.executable, INBOXWATCH_CHILD, str(Path(args.baseline).resolve()))
    if PARSEDMARC_PYTHON.exists():
        tools["parsedmarc"] = (str(PARSEDMARC_PYTHON), PARSEDMARC_CHILD, None)
    else:
        print("parsedmarc not measured: %s not found; see the install steps at the top of this script" % PARSEDMARC_PYTHON)

    results: dict[str, list[dict]] = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, (python, program, python_path) in tools.items():
            results[name].append(run_child(python, program, args.folder, args.kind, python_path))

    print("| tool | reports parsed | errors | reports per CPU second | reports per second | peak memory (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    rates = {}
    for name, runs in results.items():
        rates[name] = statistics.median(run["reports"] / run["cpu_seconds"] for run in runs)
        wall_rate = statistics.median(run["reports"] / run["seconds"] for run in runs)
        print("| %s | %d | %d | %.0f | %.0f | %.0f |" % (
            name, runs[0]["reports"], runs[0]["errors"], rates[name], wall_rate, statistics.median(run["peak_mib"] for run in runs)
        ))
    if "parsedmarc" in rates:
        for name in rates:
            if name != "parsedmarc":
                print("%s parses %.2f times as many reports per CPU second as parsedmarc" % (name, rates[name] / rates["parsedmarc"]))
    print("Python %s, %s, %d CPUs" % (platform.python_version(), platform.processor() or platform.machine(), os.cpu_count() or 0))


if __name__ == "__main__":
    main()
