"""The resolver against a DNS server on loopback."""

from __future__ import annotations

import asyncio

import pytest

from dnsserver import DnsServer, ZoneData, silent_server
from inboxwatch.dnscheck.resolver import Nameserver, Outcome, RateLimiter, Resolver, parse_nameserver
from inboxwatch.errors import CheckError

LONG_TXT = "v=spf1 " + " ".join("ip4:192.0.2.%d" % (index % 250) for index in range(300)) + " -all"

ZONE = {
    "a.test": {"A": ["192.0.2.1"], "TXT": ["hello"]},
    "long.test": {"TXT": [LONG_TXT]},
    "split.test": {"TXT": ["x" * 300]},
    "*.wild.test": {"A": ["192.0.2.9"]},
    "mx.test": {"MX": ["10 mail.mx.test."]},
}


@pytest.fixture(scope="module")
def server():
    zone = ZoneData(ZONE, refused=["refused.test"], servfail=["broken.test"])
    with DnsServer(zone) as running:
        yield running


def resolve(server, name, rdtype="A", **options):
    resolver = Resolver([parse_nameserver(server.address)], timeout=1.0, **options)
    return asyncio.run(resolver.query(name, rdtype))


@pytest.mark.parametrize(
    "name, rdtype, outcome, records",
    [
        pytest.param("a.test", "A", Outcome.ANSWER, ("192.0.2.1",), id="address"),
        pytest.param("a.test", "TXT", Outcome.ANSWER, ("hello",), id="txt"),
        pytest.param("a.test", "AAAA", Outcome.NODATA, (), id="nodata"),
        pytest.param("missing.test", "A", Outcome.NXDOMAIN, (), id="nxdomain"),
        pytest.param("anything.wild.test", "A", Outcome.ANSWER, ("192.0.2.9",), id="wildcard"),
        pytest.param("mx.test", "MX", Outcome.ANSWER, ("10 mail.mx.test.",), id="mx"),
        pytest.param("x.refused.test", "A", Outcome.REFUSED, (), id="refused"),
        pytest.param("broken.test", "A", Outcome.SERVFAIL, (), id="servfail"),
    ],
)
def test_resolver_outcome_by_answer(server, name, rdtype, outcome, records):
    lookup = resolve(server, name, rdtype)
    assert lookup.outcome is outcome
    assert lookup.records == records


def test_resolver_long_txt_over_tcp(server):
    lookup = resolve(server, "long.test", "TXT")
    assert len(LONG_TXT) > 4000
    assert lookup.records == (LONG_TXT,)


def test_resolver_txt_strings_joined_without_spaces(server):
    assert resolve(server, "split.test", "TXT").records == ("x" * 300,)


def test_resolver_silent_server_times_out():
    with silent_server() as address:
        resolver = Resolver([parse_nameserver(address)], timeout=0.2, attempts=2)
        lookup = asyncio.run(resolver.query("a.test"))
    assert lookup.outcome is Outcome.TIMEOUT
    assert lookup.failed


def test_resolver_closed_port_network_error():
    with silent_server() as address:
        port = parse_nameserver(address).port
    # The socket is closed, so the port answers with ICMP port unreachable.
    resolver = Resolver([Nameserver("127.0.0.1", port)], timeout=1.0, attempts=2)
    lookup = asyncio.run(resolver.query("a.test"))
    assert lookup.outcome is Outcome.NETWORK_ERROR
    assert lookup.failed


def test_resolver_retries_next_nameserver(server):
    with silent_server() as address:
        resolver = Resolver([parse_nameserver(address), parse_nameserver(server.address)], timeout=0.2, attempts=2)
        lookup = asyncio.run(resolver.query("a.test"))
    assert lookup.records == ("192.0.2.1",)


def test_resolver_cache_serves_repeat(server):
    resolver = Resolver([parse_nameserver(server.address)], timeout=1.0)

    async def twice():
        await resolver.query("a.test")
        await resolver.query("A.TEST")

    asyncio.run(twice())
    assert resolver.queries_sent == 1


def test_resolver_failure_cached_briefly(server):
    now = [0.0]
    resolver = Resolver([parse_nameserver(server.address)], timeout=1.0, attempts=1, error_ttl=30, clock=lambda: now[0])

    async def query_at(time_now):
        now[0] = time_now
        return await resolver.query("broken.test")

    asyncio.run(query_at(0.0))
    asyncio.run(query_at(10.0))
    assert resolver.queries_sent == 1
    asyncio.run(query_at(31.0))
    assert resolver.queries_sent == 2


def test_rate_limiter_spaces_zone_queries():
    limiter = RateLimiter({"zen.example": 2.0}, clock=lambda: 100.0)
    delays = [limiter.delay_for("2.0.0.127.zen.example") for _ in range(3)]
    assert delays == [0.0, 0.5, 1.0]
    assert limiter.delay_for("other.example") == 0.0


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("127.0.0.1", Nameserver("127.0.0.1", 53), id="host"),
        pytest.param("127.0.0.1:5353", Nameserver("127.0.0.1", 5353), id="host-port"),
        pytest.param("[::1]:5353", Nameserver("::1", 5353), id="ipv6-port"),
        pytest.param("::1", Nameserver("::1", 53), id="ipv6"),
    ],
)
def test_parse_nameserver_forms(text, expected):
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:port", ":53"], ids=["zero", "word", "no-host"])
def test_parse_nameserver_invalid(text):
    with pytest.raises(CheckError):
        parse_nameserver(text)


def test_resolver_close_then_query_again(server):
    resolver = Resolver([parse_nameserver(server.address)], timeout=1.0, max_cache_ttl=0)
    first = asyncio.run(resolver.query("a.test", "A"))
    resolver.close()
    second = asyncio.run(resolver.query("a.test", "A"))
    resolver.close()
    assert first.records == ("192.0.2.1",)
    assert second.records == ("192.0.2.1",)
