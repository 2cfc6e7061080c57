"""An async stub resolver for the checks: retries, a TTL cache and per-zone rate limits.

Queries are built and parsed with dnspython but sent by this module rather
than by `dns.asyncresolver.Resolver.resolve`, because the checks must tell
REFUSED, SERVFAIL, timeouts, NXDOMAIN and empty answers apart, and the stock
resolver folds the first three into one `NoNameservers` error. UDP queries to
one nameserver share one socket (`transport.UdpChannel`), and truncated
answers are repeated over TCP with `dns.asyncquery.tcp`. The nameserver list
comes from the caller or, by default, from the system configuration
(`/etc/resolv.conf`) read by dnspython.

A failed lookup (SERVFAIL, REFUSED, timeout) is returned as a `Lookup` whose
`failed` is true. Callers must read it as "unknown", never as "not listed" or
"no record".
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from inboxwatch.dnscheck.transport import EDNS_PAYLOAD, UdpChannel, encode_question
from inboxwatch.dnscheck.wire import read_reply
from inboxwatch.errors import CheckError

logger = logging.getLogger(__name__)

DEFAULT_PORT = 53


class Outcome(str, enum.Enum):
    ANSWER = "answer"
    NXDOMAIN = "nxdomain"
    # The name exists but has no records of the requested type.
    NODATA = "nodata"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    # The query could not be sent or the reply was unusable: ICMP port
    # unreachable, a refused TCP connection, a malformed message.
    NETWORK_ERROR = "network_error"


FAILED_OUTCOMES = frozenset({Outcome.SERVFAIL, Outcome.REFUSED, Outcome.TIMEOUT, Outcome.NETWORK_ERROR})


@dataclasses.dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        return "%s:%d" % (self.host, self.port) if ":" not in self.host else "[%s]:%d" % (self.host, self.port)


@dataclasses.dataclass(frozen=True)
class Lookup:
    """The result of one query: its outcome and the records as text.

    TXT records have their character-strings joined without spaces, as
    RFC 7208 section 3.3 requires for SPF and the other TXT-based records
    follow. MX records read "preference exchange".
    """

    name: str
    rdtype: str
    outcome: Outcome
    records: tuple[str, ...] = ()
    ttl: int = 0

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    @property
    def empty(self) -> bool:
        """True for NXDOMAIN and NODATA: the name or the record does not exist."""
        return self.outcome in (Outcome.NXDOMAIN, Outcome.NODATA)


# A host name as RFC 1123 allows it: dot-separated labels of letters, digits
# and inner hyphens, each at most 63 characters.
HOST_NAME = re.compile(r"(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_nameserver(text: str) -> Nameserver:
    """Parse "HOST", "HOST:PORT", "[IPV6]:PORT" or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host or not (is_ip_address(host) or HOST_NAME.fullmatch(host)):
        raise CheckError("invalid nameserver %r: expected HOST, HOST:PORT or [IPV6]:PORT" % text)
    if not port_text:
        return Nameserver(host)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise CheckError("invalid nameserver port in %r: expected a number from 1 to 65535" % text)
    return Nameserver(host, int(port_text))


def system_nameservers() -> list[Nameserver]:
    """Read the nameservers from the system resolver configuration."""
    try:
        configured = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration as error:
        raise CheckError("no nameserver configured: %s; pass --nameserver HOST[:PORT]" % error) from error
    return [Nameserver(str(address), configured.port) for address in configured.nameservers]


def format_rdata(rdata) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", errors="replace")
    if rdata.rdtype == dns.rdatatype.MX:
        return "%d %s" % (rdata.preference, rdata.exchange.to_text())
    return rdata.to_text()


def lookup_from_response(name: str, rdtype: str, response: dns.message.Message) -> Lookup:
    """Classify a dnspython response by its rcode and answer section."""
    wanted = dns.rdatatype.from_text(rdtype)
    records: list[str] = []
    ttl: int | None = None
    # The answer may start with a CNAME chain; only records of the requested
    # type count, whatever owner name the chain ended on.
    for rrset in response.answer:
        if rrset.rdtype != wanted:
            continue
        records.extend(format_rdata(rdata) for rdata in rrset)
        ttl = rrset.ttl if ttl is None else min(ttl, rrset.ttl)
    return classify(name, rdtype, response.rcode(), records, ttl or 0, negative_ttl(response))


def classify(name: str, rdtype: str, rcode: int, records: list[str], ttl: int, negative: int) -> Lookup:
    if rcode == dns.rcode.NXDOMAIN:
        return Lookup(name, rdtype, Outcome.NXDOMAIN, ttl=negative)
    if rcode == dns.rcode.REFUSED:
        return Lookup(name, rdtype, Outcome.REFUSED)
    if rcode != dns.rcode.NOERROR:
        return Lookup(name, rdtype, Outcome.SERVFAIL)
    if not records:
        return Lookup(name, rdtype, Outcome.NODATA, ttl=negative)
    return Lookup(name, rdtype, Outcome.ANSWER, tuple(records), ttl)


def negative_ttl(response: dns.message.Message) -> int:
    # RFC 2308 section 5: a negative answer is cached for the lesser of the
    # SOA record's TTL and its MINIMUM field.
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return min(rrset.ttl, rrset[0].minimum)
    return 0


class RateLimiter:
    """A per-zone query rate limit that spaces queries to a zone `1 / rate` seconds apart.

    `rates` maps a zone to queries per second. A name is limited by the
    longest zone it falls under. Names under no listed zone are not limited.
    """

    def __init__(self, rates: Mapping[str, float], *, clock: Callable[[], float] = time.monotonic) -> None:
        for zone, rate in rates.items():
            if rate <= 0:
                raise CheckError("invalid rate limit for zone %s: %r, expected queries per second above 0" % (zone, rate))
        self._rates = {dns.name.from_text(zone): rate for zone, rate in rates.items()}
        self._next_slot: dict[dns.name.Name, float] = {}
        self._clock = clock

    def zone_of(self, name: str) -> dns.name.Name | None:
        if not self._rates:
            return None
        qname = dns.name.from_text(name)
        matches = [zone for zone in self._rates if qname.is_subdomain(zone)]
        return max(matches, key=len, default=None)

    def delay_for(self, name: str) -> float:
        """Reserve the next query slot for `name` and return seconds to wait for it."""
        zone = self.zone_of(name)
        if zone is None:
            return 0.0
        now = self._clock()
        slot = max(now, self._next_slot.get(zone, now))
        self._next_slot[zone] = slot + 1.0 / self._rates[zone]
        return slot - now


class Resolver:
    """A stub resolver that queries the configured nameservers in turn and caches the results.

    Each query is tried `attempts` times in all, moving to the next
    nameserver after a timeout, SERVFAIL, REFUSED or network error. Answers are cached for
    their TTL, capped at `max_cache_ttl`, and failures for `error_ttl`
    seconds, so a broken server is retried soon.
    """

    def __init__(
        self,
        nameservers: Sequence[Nameserver] | None = None,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        max_cache_ttl: int = 3600,
        error_ttl: int = 30,
        zone_rates: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if attempts < 1:
            raise CheckError("invalid resolver attempts %r: expected at least 1" % attempts)
        self.nameservers = list(nameservers) if nameservers else system_nameservers()
        if not self.nameservers:
            raise CheckError("no nameserver configured: pass --nameserver HOST[:PORT]")
        self.timeout = timeout
        self.attempts = attempts
        self.max_cache_ttl = max_cache_ttl
        self.error_ttl = error_ttl
        self._clock = clock
        self._limiter = RateLimiter(zone_rates or {}, clock=clock)
        self._cache: dict[tuple[str, str], tuple[float, Lookup]] = {}
        self._channels: dict[Nameserver, UdpChannel] = {}
        self.queries_sent = 0

    async def query(self, name: str, rdtype: str = "A") -> Lookup:
        name = name if name.endswith(".") else name + "."
        key = (name.lower(), rdtype)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]

        lookup = await self._query_with_retries(name, rdtype)
        lifetime = self.error_ttl if lookup.failed else min(lookup.ttl, self.max_cache_ttl)
        if lifetime > 0:
            self._cache[key] = (self._clock() + lifetime, lookup)
        return lookup

    async def _query_with_retries(self, name: str, rdtype: str) -> Lookup:
        lookup = Lookup(name, rdtype, Outcome.TIMEOUT)
        for attempt in range(self.attempts):
            nameserver = self.nameservers[attempt % len(self.nameservers)]
            delay = self._limiter.delay_for(name)
            if delay > 0:
                await asyncio.sleep(delay)
            lookup = await self._send(name, rdtype, nameserver)
            if not lookup.failed:
                return lookup
            logger.info("DNS query %s %s to %s failed (%s), attempt %d of %d", name, rdtype, nameserver, lookup.outcome.value, attempt + 1, self.attempts)
        # INFO, not WARNING: a broken list or resolver fails thousands of
        # queries, and the callers log one line per list or record instead.
        logger.info("DNS query %s %s failed after %d attempts: %s", name, rdtype, self.attempts, lookup.outcome.value)
        return lookup

    async def _send(self, name: str, rdtype: str, nameserver: Nameserver) -> Lookup:
        rdtype_value = dns.rdatatype.from_text(rdtype)
        try:
            question = encode_question(name, rdtype_value)
        except CheckError as error:
            # Names come from records too (SPF includes, MX hosts). One that
            # cannot be encoded cannot exist in the DNS, so it reads as NXDOMAIN.
            logger.info("not querying %r: %s", name, error)
            return Lookup(name, rdtype, Outcome.NXDOMAIN)
        self.queries_sent += 1
        try:
            channel = await self._channel(nameserver)
            data = await channel.exchange(question, self.timeout)
            fast = read_reply(data, rdtype_value)
            if fast is not None and not fast[1]:
                rcode, _, records, ttl, negative = fast
                return classify(name, rdtype, rcode, records, ttl, negative)
            response = dns.message.from_wire(data, ignore_trailing=True)
            if response.flags & dns.flags.TC:
                request = dns.message.make_query(name, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
                response = await dns.asyncquery.tcp(request, nameserver.host, timeout=self.timeout, port=nameserver.port)
        except (asyncio.TimeoutError, dns.exception.Timeout):
            return Lookup(name, rdtype, Outcome.TIMEOUT)
        except (OSError, dns.exception.DNSException) as error:
            logger.info("DNS query %s %s to %s failed: %s", name, rdtype, nameserver, error)
            return Lookup(name, rdtype, Outcome.NETWORK_ERROR)
        return lookup_from_response(name, rdtype, response)

    def close(self) -> None:
        """Close the sockets to the nameservers; a later query opens new ones."""
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    async def _channel(self, nameserver: Nameserver) -> UdpChannel:
        loop = asyncio.get_running_loop()
        channel = self._channels.get(nameserver)
        if channel is not None and channel.usable_on(loop):
            return channel
        if channel is not None:
            channel.close()
        channel = await UdpChannel.open(nameserver.host, nameserver.port)
        self._channels[nameserver] = channel
        return channel
