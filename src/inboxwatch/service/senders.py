"""Sender identities for DMARC report sources: known-sender matching and optional reverse DNS.

The `[dmarc]` settings name networks and SPF records the operator vouches
for. The SPF records are fetched through the DNS layer's resolver and kept
for `cache_seconds` (the resolver also caches each answer for its TTL).
Reverse DNS names are looked up only when `reverse_dns` is on, because they
cost one query per source.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable

from inboxwatch.analysis.senders import KnownSenders, SenderIdentity
from inboxwatch.config.models import DmarcSettings
from inboxwatch.dnscheck.resolver import Resolver, parse_nameserver
from inboxwatch.dnscheck.spf import SpfNode, check_host
from inboxwatch.dnscheck.spf_fetch import fetch_tree

log = logging.getLogger(__name__)

# How long fetched SPF trees of known_spf_includes are reused.
SPF_CACHE_SECONDS = 3600

# Reverse DNS queries in flight at once.
MAX_CONCURRENT_PTR = 16


def spf_passes(tree: SpfNode, address: str) -> bool:
    return check_host(tree, address) == "pass"


class SenderDirectory:
    """Identifies source IPs from the `[dmarc]` settings; one instance is reused across checks to keep its cache."""

    def __init__(
        self,
        settings: DmarcSettings,
        *,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = SPF_CACHE_SECONDS,
    ) -> None:
        self.settings = settings
        self._resolver = resolver
        self.clock = clock
        self.cache_seconds = cache_seconds
        self._trees: dict[str, tuple[float, SpfNode]] = {}

    @property
    def needs_dns(self) -> bool:
        return bool(self.settings.known_spf_includes) or self.settings.reverse_dns

    def resolver(self) -> Resolver:
        if self._resolver is None:
            nameservers = [parse_nameserver(text) for text in self.settings.nameservers]
            self._resolver = Resolver(nameservers or None)
        return self._resolver

    def identify_all(self, source_ips: Iterable[str]) -> dict[str, SenderIdentity]:
        """Identify each source IP, running the DNS lookups the settings ask for (blocking)."""
        ips = sorted(set(source_ips))
        if not self.needs_dns:
            known = KnownSenders(self.settings.known_senders)
            return {ip: known.identify(ip) for ip in ips}
        return asyncio.run(self._identify_all(ips))

    async def _identify_all(self, ips: list[str]) -> dict[str, SenderIdentity]:
        known = await self.known_senders()
        names: dict[str, str | None] = {}
        if self.settings.reverse_dns:
            names = await self.reverse_names(ips)
        return {ip: known.identify(ip, names.get(ip)) for ip in ips}

    async def known_senders(self) -> KnownSenders:
        """Build the matcher, fetching the SPF tree of each include not cached or cached too long ago."""
        checks = {}
        for include in self.settings.known_spf_includes:
            tree = await self._spf_tree(include)
            checks[include] = functools.partial(spf_passes, tree)
        return KnownSenders(self.settings.known_senders, checks)

    async def _spf_tree(self, domain: str) -> SpfNode:
        cached = self._trees.get(domain)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        tree = await fetch_tree(self.resolver(), domain)
        if tree.txt.failed:
            # Not cached, so the next check retries; meanwhile its senders read as unknown.
            log.warning("SPF lookup for known_spf_includes entry %s failed (%s); its senders count as unknown", domain, tree.txt.outcome.value)
        else:
            self._trees[domain] = (self.clock() + self.cache_seconds, tree)
        return tree

    async def reverse_names(self, ips: Iterable[str]) -> dict[str, str | None]:
        """Look up the PTR name of each IP; an IP without one, or whose lookup failed, maps to None.

        NOTE: the name is not forward-confirmed (its A or AAAA records are
        not checked to contain the IP), so it is a hint, not an identity.
        """
        limit = asyncio.Semaphore(MAX_CONCURRENT_PTR)

        async def lookup(ip: str) -> tuple[str, str | None]:
            try:
                pointer = ipaddress.ip_address(ip).reverse_pointer
            except ValueError:
                return ip, None
            async with limit:
                result = await self.resolver().query(pointer, "PTR")
            names = [record.rstrip(".") for record in result.records]
            return ip, names[0] if names else None

        return dict(await asyncio.gather(*(lookup(ip) for ip in ips)))
