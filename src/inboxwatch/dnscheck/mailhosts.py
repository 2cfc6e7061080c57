"""MX records and forward-confirmed reverse DNS (PTR) for sending IPs."""

from __future__ import annotations

import asyncio
import ipaddress

from inboxwatch.dnscheck.dnsbl import reversed_ip
from inboxwatch.dnscheck.findings import Problem, RecordCheck, error, finish, lookup_failure, missing, warning
from inboxwatch.dnscheck.resolver import Resolver


def mx_hosts(records: tuple[str, ...]) -> list[tuple[int, str]]:
    hosts = []
    for record in records:
        preference, _, host = record.partition(" ")
        hosts.append((int(preference), host.lower().rstrip(".")))
    return sorted(hosts)


async def check_mx(resolver: Resolver, domain: str) -> RecordCheck:
    lookup = await resolver.query(domain, "MX")
    if lookup.failed:
        return lookup_failure(domain, "MX", lookup.outcome.value, hosts=[])
    if not lookup.records:
        return missing("%s has no MX records; senders fall back to its A record (RFC 5321 section 5.1)" % domain, hosts=[])
    hosts = mx_hosts(lookup.records)
    names = [host for _, host in hosts]
    # RFC 7505 section 3: a single MX of "." at preference 0 declares that the domain accepts no mail.
    if names == [""]:
        return finish([record for record in lookup.records], [warning("%s publishes a null MX: it accepts no mail, so bounces to it are lost" % domain)], hosts=[])
    problems: list[Problem] = []
    failures: list[str] = []
    answers = await asyncio.gather(*(resolve_addresses(resolver, host) for host in names))
    for host, (addresses, failed) in zip(names, answers):
        if failed and not addresses:
            failures.append("DNS lookup of MX host %s A and AAAA failed" % host)
        elif not addresses:
            problems.append(error("MX host %s has no A or AAAA record" % host))
    return finish(["%d %s" % pair for pair in hosts], problems, reason="; ".join(failures), hosts=names)


async def resolve_addresses(resolver: Resolver, host: str) -> tuple[list[str], bool]:
    lookups = await asyncio.gather(resolver.query(host, "A"), resolver.query(host, "AAAA"))
    addresses = [record for lookup in lookups for record in lookup.records]
    return addresses, any(lookup.failed for lookup in lookups)


async def check_ptr(resolver: Resolver, address: str) -> RecordCheck:
    """Check that `address` has a PTR name whose A or AAAA records lead back to it."""
    ip = ipaddress.ip_address(address)
    zone = "in-addr.arpa" if ip.version == 4 else "ip6.arpa"
    name = "%s.%s" % (reversed_ip(ip), zone)
    lookup = await resolver.query(name, "PTR")
    if lookup.failed:
        return lookup_failure(name, "PTR", lookup.outcome.value, ip=address)
    if not lookup.records:
        return missing("%s has no PTR record; many receivers reject mail from such addresses" % address, ip=address)
    confirmed = []
    failures = []
    for host in lookup.records:
        addresses, failed = await resolve_addresses(resolver, host)
        if any(ipaddress.ip_address(candidate) == ip for candidate in addresses):
            confirmed.append(host.rstrip("."))
        elif failed:
            failures.append("DNS lookup of %s A and AAAA failed" % host.rstrip("."))
    if confirmed:
        return finish(list(lookup.records), [], ip=address, confirmed=confirmed)
    if failures:
        # A name whose addresses could not be read may still lead back.
        return finish(list(lookup.records), [], reason="; ".join(failures), ip=address, confirmed=confirmed)
    problems = [error("PTR %s for %s does not resolve back to the address" % (", ".join(lookup.records), address))]
    return finish(list(lookup.records), problems, ip=address, confirmed=confirmed)
