"""Blocklist query names, answer interpretation and list health, and the driver on loopback."""

from __future__ import annotations

import asyncio

import pytest

from dnsserver import DnsServer, ZoneData, silent_server
from inboxwatch.dnscheck.blocklist_check import check_blocklists
from inboxwatch.dnscheck.blocklists import CATALOGUE_BY_NAME, generic_list, select_lists, spamhaus_dqs
from inboxwatch.dnscheck.dnsbl import (
    Asset,
    AssetKind,
    Health,
    Status,
    assess_health,
    inapplicable_reason,
    parse_asset,
    parse_ip,
    probe_name,
    query_name,
    read_answer,
)
from inboxwatch.dnscheck.resolver import Lookup, Outcome, Resolver, parse_nameserver
from inboxwatch.errors import CheckError

ZEN = CATALOGUE_BY_NAME["spamhaus-zen"]
DBL = CATALOGUE_BY_NAME["spamhaus-dbl"]
SURBL = CATALOGUE_BY_NAME["surbl"]
URIBL = CATALOGUE_BY_NAME["uribl"]
GENERIC = generic_list("bl.example.test")


def answer(*addresses):
    return Lookup("q.", "A", Outcome.ANSWER, tuple(addresses), 300)


NXDOMAIN = Lookup("q.", "A", Outcome.NXDOMAIN)
TIMEOUT = Lookup("q.", "A", Outcome.TIMEOUT)
REFUSED = Lookup("q.", "A", Outcome.REFUSED)


@pytest.mark.parametrize(
    "asset, blocklist, expected",
    [
        pytest.param("192.0.2.99", ZEN, "99.2.0.192.zen.spamhaus.org", id="ipv4-reversed"),
        pytest.param(
            "2001:db8::1:2",
            ZEN,
            "2.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org",
            id="ipv6-nibbles",
        ),
        pytest.param("mail.news.example.co.uk", DBL, "mail.news.example.co.uk.dbl.spamhaus.org", id="hostname-list"),
        pytest.param("mail.news.example.co.uk", SURBL, "example.co.uk.multi.surbl.org", id="registered-domain-list"),
        pytest.param("Mail.Example.COM.", URIBL, "example.com.multi.uribl.com", id="domain-case-and-dot"),
    ],
)
def test_query_name_by_list_kind(asset, blocklist, expected):
    assert query_name(parse_asset(asset), blocklist) == expected


@pytest.mark.parametrize(
    "text",
    ["192.0.2.256", "192.0.2", "1.2.3.4.5", "2001:db8::g"],
    ids=["octet-too-large", "three-octets", "five-octets", "bad-ipv6"],
)
def test_parse_asset_invalid_ip(text):
    with pytest.raises(CheckError, match="invalid IP address"):
        parse_asset(text)


@pytest.mark.parametrize("text, corrected", [("203.0.113.010", "203.0.113.10"), ("010.0.0.1", "10.0.0.1")], ids=["last-octet", "first-octet"])
def test_parse_ip_leading_zero_named(text, corrected):
    with pytest.raises(CheckError, match="leading zero") as raised:
        parse_ip(text)
    assert "write %s" % corrected in str(raised.value)


def test_read_answer_generic_not_listed_wording():
    verdict = read_answer(GENERIC, answer("127.255.255.254"))
    assert not any(text.startswith("listed") for text in verdict.meanings)
    assert verdict.rejected is False


@pytest.mark.parametrize(
    "asset, blocklist, expected",
    [
        pytest.param("mail.example.com", ZEN, "zen.spamhaus.org lists IP addresses only; mail.example.com is a domain", id="domain-on-ip-list"),
        pytest.param("192.0.2.1", DBL, "dbl.spamhaus.org lists domains only; 192.0.2.1 is an IP address", id="ip-on-domain-list"),
        pytest.param("2001:db8::1", CATALOGUE_BY_NAME["spamcop"], "bl.spamcop.net lists IPv4 addresses only; 2001:db8::1 is an IPv6 address", id="ipv6-on-ipv4-list"),
        pytest.param(
            "10.113.0.203.zen.spamhaus.org",
            ZEN,
            "zen.spamhaus.org lists IP addresses only; 10.113.0.203.zen.spamhaus.org is already a query name in that zone, so check the IP address 203.0.113.10 instead",
            id="query-name-as-asset",
        ),
    ],
)
def test_inapplicable_reason_by_case(asset, blocklist, expected):
    assert inapplicable_reason(parse_asset(asset), blocklist) == expected


def test_parse_ip_hostname_named_in_error():
    with pytest.raises(CheckError, match="looks like a hostname"):
        parse_ip("mail.example.com")


@pytest.mark.parametrize("text", ["exa mple.com", "-bad.example", "localhost"], ids=["space", "leading-hyphen", "single-label"])
def test_parse_asset_invalid_domain(text):
    with pytest.raises(CheckError, match="invalid domain"):
        parse_asset(text)


def test_parse_asset_kinds():
    assert parse_asset("192.0.2.1") == Asset(AssetKind.IPV4, "192.0.2.1")
    assert parse_asset("2001:DB8::1") == Asset(AssetKind.IPV6, "2001:db8::1")
    assert parse_asset("Example.com") == Asset(AssetKind.DOMAIN, "example.com")


@pytest.mark.parametrize(
    "blocklist, lookup, status, meaning",
    [
        pytest.param(ZEN, NXDOMAIN, Status.CLEAR, None, id="nxdomain-clear"),
        pytest.param(ZEN, answer("127.0.0.2"), Status.LISTED, "Spamhaus SBL", id="sbl"),
        pytest.param(ZEN, answer("127.0.0.10"), Status.LISTED, "PBL", id="pbl-policy"),
        pytest.param(ZEN, answer("127.255.255.254"), Status.UNKNOWN, "public or open resolver", id="spamhaus-public-resolver"),
        pytest.param(ZEN, answer("127.255.255.255"), Status.UNKNOWN, "too many queries", id="spamhaus-rate-limit"),
        pytest.param(ZEN, answer("127.255.255.252"), Status.UNKNOWN, "typing error", id="spamhaus-typo"),
        # Spamhaus reserves all of 127.255.255.0/24 for errors, named or not.
        pytest.param(ZEN, answer("127.255.255.250"), Status.UNKNOWN, "error code 127.255.255.250", id="spamhaus-unnamed-error"),
        pytest.param(ZEN, answer("127.0.0.30"), Status.LISTED, "BCL", id="spamhaus-bcl"),
        pytest.param(ZEN, answer("192.0.2.5"), Status.UNKNOWN, "outside 127.0.0.0/8", id="not-loopback"),
        pytest.param(ZEN, TIMEOUT, Status.UNKNOWN, None, id="timeout-never-clear"),
        pytest.param(ZEN, answer("127.0.0.200"), Status.LISTED, "not in the catalogue", id="unknown-code"),
        pytest.param(SURBL, answer("127.0.0.24"), Status.LISTED, "SURBL MW", id="surbl-bits"),
        pytest.param(SURBL, answer("127.0.0.1"), Status.UNKNOWN, "resolver blocked", id="surbl-refusal"),
        pytest.param(URIBL, answer("127.0.0.2"), Status.LISTED, "URIBL black", id="uribl-black"),
        pytest.param(DBL, answer("127.0.1.50"), Status.LISTED, "listed, return code 127.0.1.50 not in the catalogue", id="dbl-uncatalogued-in-range"),
        pytest.param(ZEN, answer("127.1.0.2"), Status.UNKNOWN, "127.1.0.2 is not understood", id="zen-code-outside-ranges"),
        pytest.param(GENERIC, answer("127.0.0.9"), Status.LISTED, "listed, return code 127.0.0.9 not in the catalogue", id="generic-listing"),
        pytest.param(GENERIC, answer("127.255.255.254"), Status.UNKNOWN, "127.255.255.254 is not understood", id="generic-code-outside-24"),
        pytest.param(GENERIC, answer("127.0.0.2", "127.1.0.1"), Status.UNKNOWN, "127.1.0.1 is not understood", id="generic-one-code-not-understood"),
    ],
)
def test_read_answer_by_code(blocklist, lookup, status, meaning):
    verdict = read_answer(blocklist, lookup)
    assert verdict.status is status
    if meaning:
        assert any(meaning in text for text in verdict.meanings)


def test_query_name_uribl_probe_is_test_entry():
    assert probe_name(URIBL.listed_probe, URIBL) == "2.0.0.127.multi.uribl.com"


def test_read_answer_surbl_bitmask_decodes_each_bit():
    verdict = read_answer(SURBL, answer("127.0.0.24"))
    assert verdict.meanings == ("SURBL PH: phishing", "SURBL MW: malware")


@pytest.mark.parametrize(
    "listed_probe, clear_probe, health",
    [
        pytest.param(answer("127.0.0.2"), NXDOMAIN, Health.HEALTHY, id="healthy"),
        pytest.param(answer("127.255.255.254"), answer("127.255.255.254"), Health.REFUSING, id="spamhaus-refusal"),
        pytest.param(REFUSED, REFUSED, Health.REFUSING, id="rcode-refused"),
        pytest.param(answer("127.0.0.2"), answer("127.0.0.2"), Health.ANSWERING_EVERYTHING, id="dead-wildcard"),
        pytest.param(TIMEOUT, NXDOMAIN, Health.UNREACHABLE, id="timeout"),
        pytest.param(NXDOMAIN, NXDOMAIN, Health.UNVERIFIED, id="no-test-entry"),
    ],
)
def test_assess_health_by_probe_answers(listed_probe, clear_probe, health):
    assert assess_health(ZEN, listed_probe, clear_probe) is health


def test_select_lists_unknown_zone_generic():
    (blocklist,) = select_lists(["bl.example.test"])
    assert blocklist == generic_list("bl.example.test")


def ip_zone(zone, listed, extra=None):
    """Records for an RFC 5782 IP list with test entry 127.0.0.2 and the given listings."""
    records = {"2.0.0.127." + zone: {"A": ["127.0.0.2"], "TXT": ["test entry"]}}
    for address, code in listed.items():
        reversed_name = ".".join(reversed(address.split(".")))
        records["%s.%s" % (reversed_name, zone)] = {"A": [code], "TXT": ["listed for spam, see http://bl.test/%s" % address]}
    records.update(extra or {})
    return records


LISTED_IP = "192.0.2.10"
CLEAN_IP = "192.0.2.20"

ZONES = {
    **ip_zone("good.bl.test", {LISTED_IP: "127.0.0.2"}),
    # Served only by the loopback server: ZEN refusing this resolver as Spamhaus
    # does for queries through public resolvers.
    "*.zen.spamhaus.org": {"A": ["127.255.255.254"]},
    # A dead list whose zone was replaced by a wildcard.
    "*.dead.bl.test": {"A": ["127.0.0.2"]},
    # No test entry published.
    **ip_zone("untested.bl.test", {}, {}),
}
del ZONES["2.0.0.127.untested.bl.test"]
ZONES["20.2.0.192.untested.bl.test"] = {"A": ["127.0.0.2"]}


@pytest.fixture(scope="module")
def server():
    with DnsServer(ZoneData(ZONES, servfail=["broken.bl.test"])) as running:
        yield running


def run_check(address, zones, assets, timeout=1.0):
    resolver = Resolver([parse_nameserver(address)], timeout=timeout, attempts=2)
    results = asyncio.run(check_blocklists(resolver, [parse_asset(asset) for asset in assets], select_lists(zones)))
    return {(result.asset.value, result.blocklist.name): result for result in results}


@pytest.mark.parametrize(
    "zone, asset, status, health",
    [
        pytest.param("good.bl.test", LISTED_IP, Status.LISTED, Health.HEALTHY, id="listed"),
        pytest.param("good.bl.test", CLEAN_IP, Status.CLEAR, Health.HEALTHY, id="clear"),
        pytest.param("spamhaus-zen", LISTED_IP, Status.UNKNOWN, Health.REFUSING, id="refusing"),
        pytest.param("dead.bl.test", CLEAN_IP, Status.UNKNOWN, Health.ANSWERING_EVERYTHING, id="dead"),
        pytest.param("untested.bl.test", CLEAN_IP, Status.UNKNOWN, Health.UNVERIFIED, id="unverified"),
        pytest.param("broken.bl.test", CLEAN_IP, Status.UNKNOWN, Health.UNREACHABLE, id="servfail"),
    ],
)
def test_check_blocklists_status_by_list(server, zone, asset, status, health):
    result = run_check(server.address, [zone], [asset])[(asset, zone)]
    assert result.status is status
    assert result.health is health


def test_check_blocklists_listing_reason_and_json(server):
    result = run_check(server.address, ["good.bl.test"], [LISTED_IP])[(LISTED_IP, "good.bl.test")]
    assert result.to_json() == {
        "asset": LISTED_IP,
        "list": "good.bl.test",
        "status": "listed",
        "codes": ["127.0.0.2"],
        "meaning": "listed, return code 127.0.0.2 not in the catalogue",
        "reason": "listed for spam, see http://bl.test/%s" % LISTED_IP,
        "list_health": "healthy",
        "delist_url": "",
    }


def test_check_blocklists_silent_server_unknown():
    with silent_server() as address:
        results = run_check(address, ["good.bl.test"], [LISTED_IP], timeout=0.2)
    result = results[(LISTED_IP, "good.bl.test")]
    assert result.status is Status.UNKNOWN
    assert result.health is Health.UNREACHABLE


def test_check_blocklists_skips_domain_on_ip_list(server):
    assert run_check(server.address, ["spamcop"], ["example.com"]) == {}


def test_check_blocklists_inapplicable_rows(server):
    resolver = Resolver([parse_nameserver(server.address)], timeout=1.0, attempts=2)
    assets = [parse_asset("example.com"), parse_asset(LISTED_IP)]
    results = asyncio.run(check_blocklists(resolver, assets, select_lists(["good.bl.test", "spamcop"]), include_inapplicable=True))
    pairs = [(result.asset.value, result.blocklist.name) for result in results]
    assert pairs == [("example.com", "good.bl.test"), ("example.com", "spamcop"), (LISTED_IP, "good.bl.test"), (LISTED_IP, "spamcop")]
    skipped = results[1]
    assert skipped.status is Status.UNKNOWN
    assert skipped.meanings == ("not applicable",)
    assert skipped.reason == "bl.spamcop.net lists IP addresses only; example.com is a domain"
    assert results[2].status is Status.LISTED


def test_check_blocklists_unhealthy_reason(server):
    result = run_check(server.address, ["spamhaus-zen"], [LISTED_IP])[(LISTED_IP, "spamhaus-zen")]
    assert result.reason == "list spamhaus-zen refused the query or answered with an error code"


def test_check_blocklists_generic_zone_takes_domains(server):
    results = run_check(server.address, ["good.bl.test"], ["example.com"])
    assert results[("example.com", "good.bl.test")].status is Status.CLEAR


def test_spamhaus_dqs_zones_carry_key():
    zones = [blocklist.zone for blocklist in spamhaus_dqs("abc123")]
    assert zones == ["abc123.zen.dq.spamhaus.net", "abc123.dbl.dq.spamhaus.net", "abc123.zrd.dq.spamhaus.net"]


def test_spamhaus_dqs_invalid_key():
    with pytest.raises(CheckError, match="invalid Spamhaus DQS key"):
        spamhaus_dqs("abc.evil")
