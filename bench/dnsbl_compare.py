"""Compare inboxwatch with pydnsbl (blocklists) and checkdmarc (SPF) on the same loopback zones.

Every query goes to a DNS server this script starts on 127.0.0.1 in a child
process, so the server does not share the measured process's interpreter.
The blocklist job is 1,000 IPv4 addresses against 10 lists: 8 healthy lists,
one that rejects the resolver with Spamhaus's 127.255.255.254, and one dead
list that answers every query. On the last two the correct result is
unknown, so a tool that reports listed or clear there is wrong.

    python bench/dnsbl_compare.py [--repeat N]

Each tool's wall time and the CPU time of the measuring process are
reported as medians over the runs. On a shared machine the wall time
follows the other load, and the CPU time is the steadier figure.

pydnsbl and checkdmarc are not inboxwatch dependencies: install them
(pip install pydnsbl checkdmarc) into a separate virtual environment that
also sees inboxwatch. A tool that is not installed is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import multiprocessing
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from dnsserver import DnsServer, ZoneData  # noqa: E402

from inboxwatch.dnscheck.blocklist_check import check_blocklists  # noqa: E402
from inboxwatch.dnscheck.blocklists import select_lists  # noqa: E402
from inboxwatch.dnscheck.dnsbl import parse_asset  # noqa: E402
from inboxwatch.dnscheck.resolver import Nameserver, Resolver  # noqa: E402

ADDRESS_COUNT = 1000
HEALTHY_ZONES = ["bl%d.bench.test" % index for index in range(8)]
# Served only by the loopback server, with Spamhaus's answer to public resolvers.
REFUSING_ZONE = "zen.spamhaus.org"
DEAD_ZONE = "dead.bench.test"
ZONES = HEALTHY_ZONES + [REFUSING_ZONE, DEAD_ZONE]
# 198.18.0.0/15 is reserved for benchmarks (RFC 2544).
ADDRESSES = [str(ipaddress.ip_address("198.18.0.0") + index) for index in range(ADDRESS_COUNT)]

SPF_DOMAINS = {
    "two.spf.test": (2, 0),
    "ten.spf.test": (10, 0),
    "eleven.spf.test": (11, 0),
    "void.spf.test": (3, 3),
}


def reversed_name(address: str) -> str:
    return ".".join(reversed(address.split(".")))


def is_listed(address_index: int, zone_index: int) -> bool:
    return (address_index + zone_index) % 7 == 0


def build_records() -> dict:
    records: dict = {}
    for zone_index, zone in enumerate(HEALTHY_ZONES):
        records["2.0.0.127." + zone] = {"A": ["127.0.0.2"]}
        for address_index, address in enumerate(ADDRESSES):
            if is_listed(address_index, zone_index):
                records["%s.%s" % (reversed_name(address), zone)] = {"A": ["127.0.0.2"], "TXT": ["listed in the benchmark"]}
    records["*." + REFUSING_ZONE] = {"A": ["127.255.255.254"]}
    records["*." + DEAD_ZONE] = {"A": ["127.0.0.2"]}

    includes = {"i%d.spf.test" % index: {"TXT": ["v=spf1 ip4:192.0.2.%d -all" % index]} for index in range(11)}
    records.update(includes)
    records["two.spf.test"] = {"TXT": ["v=spf1 include:i0.spf.test include:i1.spf.test -all"]}
    records["ten.spf.test"] = {"TXT": ["v=spf1 " + " ".join("include:i%d.spf.test" % index for index in range(10)) + " -all"]}
    records["eleven.spf.test"] = {"TXT": ["v=spf1 " + " ".join("include:i%d.spf.test" % index for index in range(11)) + " -all"]}
    records["void.spf.test"] = {"TXT": ["v=spf1 a:nx1.spf.test a:nx2.spf.test a:nx3.spf.test -all"]}
    return records


def serve(port_queue, stop_event) -> None:
    with DnsServer(ZoneData(build_records())) as server:
        port_queue.put(server.port)
        stop_event.wait()


def expected(address_index: int, zone: str) -> str:
    if zone not in HEALTHY_ZONES:
        return "unknown"
    return "listed" if is_listed(address_index, HEALTHY_ZONES.index(zone)) else "clear"


def score(answers: dict) -> dict:
    """Count right answers, false listings and false clears against the expected results."""
    counts = {"right": 0, "false_listed": 0, "false_clear": 0, "unknown": 0}
    for (address_index, zone), status in answers.items():
        truth = expected(address_index, zone)
        if status == truth:
            counts["right"] += 1
        elif status == "listed":
            counts["false_listed"] += 1
        elif status == "clear":
            counts["false_clear"] += 1
        else:
            counts["unknown"] += 1
    return counts


def run_inboxwatch(port: int) -> tuple[dict, float, float]:
    resolver = Resolver([Nameserver("127.0.0.1", port)], timeout=2.0)
    assets = [parse_asset(address) for address in ADDRESSES]
    started, cpu_started = time.perf_counter(), time.process_time()
    results = asyncio.run(check_blocklists(resolver, assets, select_lists(ZONES)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    resolver.close()
    index_of = {address: index for index, address in enumerate(ADDRESSES)}
    answers = {(index_of[result.asset.value], result.blocklist.zone): result.status.value for result in results}
    return answers, elapsed, cpu


def run_pydnsbl(port: int) -> tuple[dict, float, float] | None:
    try:
        import aiodns
        import pydnsbl
        from pydnsbl.providers import Provider
    except ImportError:
        return None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    checker = pydnsbl.DNSBLIpChecker(providers=[Provider(zone) for zone in ZONES], timeout=2, tries=2, loop=loop)
    # pydnsbl offers no nameserver option, so its resolver is replaced before
    # any query with one bound to the loopback server's port.
    checker._resolver = aiodns.DNSResolver(nameservers=["127.0.0.1"], udp_port=port, tcp_port=port, timeout=2, tries=2, loop=loop)
    if checker._resolver.nameservers != ["127.0.0.1"]:
        raise SystemExit("pydnsbl resolver is not limited to 127.0.0.1: %r" % checker._resolver.nameservers)
    started, cpu_started = time.perf_counter(), time.process_time()
    results = checker.bulk_check(ADDRESSES)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    loop.close()
    index_of = {address: index for index, address in enumerate(ADDRESSES)}
    answers = {}
    for result in results:
        for provider in result.providers:
            if provider in result.failed_providers:
                status = "unknown"
            else:
                status = "listed" if provider.host in result.detected_by else "clear"
            answers[(index_of[result.addr], provider.host)] = status
    return answers, elapsed, cpu


def run_spf_comparison(port: int) -> list[tuple[str, tuple, tuple, tuple | None]]:
    from inboxwatch.dnscheck.auth import check_spf

    rows = []
    resolver = Resolver([Nameserver("127.0.0.1", port)], timeout=2.0)
    try:
        import checkdmarc.spf
        import dns.nameserver
    except ImportError:
        checkdmarc = None
    for domain, truth in SPF_DOMAINS.items():
        ours = asyncio.run(check_spf(resolver, domain, []))
        theirs = None
        if checkdmarc is not None:
            result = checkdmarc.spf.check_spf(domain, nameservers=[dns.nameserver.Do53Nameserver("127.0.0.1", port)], timeout=2.0)
            theirs = (result.get("dns_lookups"), result.get("void_dns_lookups"), result.get("error", "")[:60])
        rows.append((domain, truth, (ours.details["lookups"], ours.details["void_lookups"]), theirs))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each blocklist job; the median time is reported.")
    arguments = parser.parse_args()

    port_queue = multiprocessing.Queue()
    stop_event = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port_queue, stop_event), daemon=True)
    server.start()
    port = port_queue.get(timeout=60)
    try:
        print("machine: %s, %s, Python %s, %d CPUs" % (platform.machine(), platform.processor() or platform.system(), platform.python_version(), os.cpu_count()))
        print("job: %d IPv4 addresses x %d lists (8 healthy, 1 rejecting, 1 dead)" % (ADDRESS_COUNT, len(ZONES)))
        for name, runner in (("inboxwatch", run_inboxwatch), ("pydnsbl", run_pydnsbl)):
            runs = [runner(port) for _ in range(arguments.repeat)]
            if runs[0] is None:
                print("%-10s not installed, skipped" % name)
                continue
            answers = runs[-1][0]
            wall = statistics.median(elapsed for _, elapsed, _ in runs)
            cpu = statistics.median(cpu for _, _, cpu in runs)
            counts = score(answers)
            print("%-10s median of %d: %.2f s wall, %.2f s CPU  right %d  false listed %d  false clear %d  unknown where known %d" % (name, arguments.repeat, wall, cpu, counts["right"], counts["false_listed"], counts["false_clear"], counts["unknown"]))
        print("SPF (lookups, void lookups): expected / inboxwatch / checkdmarc")
        for domain, truth, ours, theirs in run_spf_comparison(port):
            print("  %-16s %-8s %-8s %s" % (domain, truth, ours, theirs if theirs is not None else "not installed"))
    finally:
        stop_event.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
