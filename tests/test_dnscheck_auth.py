"""SPF, DKIM, DMARC, MTA-STS, TLS-RPT, BIMI, MX and PTR checks against a DNS server on loopback."""

from __future__ import annotations

import asyncio
import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dnsserver import DnsServer, ZoneData, silent_server
from httpsserver import HttpsServer
from inboxwatch.dnscheck.auth import AuthOptions, check_domain, check_spf
from inboxwatch.dnscheck.dkim import check_selector
from inboxwatch.dnscheck.dmarc import check_dmarc
from inboxwatch.dnscheck.findings import Level
from inboxwatch.dnscheck.resolver import Resolver, parse_nameserver


def rsa_key_record(bits: int) -> str:
    # Only the modulus length matters to the check, so an odd number of the
    # right length replaces a generated key and keeps the tests fast.
    modulus = (1 << (bits - 1)) | 0xF1
    key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


BIG_SPF = "v=spf1 " + " ".join("ip4:203.0.113.%d" % (index % 250) for index in range(230)) + " -all"

ZONE = {
    "good.test": {
        "TXT": ["v=spf1 ip4:192.0.2.0/24 include:_spf.good.test -all", "google-site-verification=abc"],
        "MX": ["10 mail.good.test."],
    },
    "_spf.good.test": {"TXT": ["v=spf1 a:mail.good.test -all"]},
    "mail.good.test": {"A": ["198.51.100.5"]},
    "5.100.51.198.in-addr.arpa": {"PTR": ["mail.good.test."]},
    "6.100.51.198.in-addr.arpa": {"PTR": ["elsewhere.good.test."]},
    "_dmarc.good.test": {"TXT": ["v = DMARC1 ;p=Reject;  rua = mailto:agg@good.test ,mailto:d@reports.test ;adkim=s ;"]},
    "good.test._report._dmarc.reports.test": {"TXT": ["v=DMARC1"]},
    "s2048._domainkey.good.test": {"TXT": [rsa_key_record(2048)]},
    "s1024._domainkey.good.test": {"TXT": [rsa_key_record(1024)]},
    "s768._domainkey.good.test": {"TXT": [rsa_key_record(768)]},
    "revoked._domainkey.good.test": {"TXT": ["v=DKIM1; k=rsa; p="]},
    "testing._domainkey.good.test": {"TXT": [rsa_key_record(2048) + "; t=y"]},
    "ed._domainkey.good.test": {"TXT": ["v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(32)).decode()]},
    "_mta-sts.good.test": {"TXT": ["v=STSv1; id=20261204"]},
    "_smtp._tls.good.test": {"TXT": ["v=TLSRPTv1; rua=mailto:tls@good.test"]},
    "default._bimi.good.test": {"TXT": ["v=BIMI1; l=https://good.test/logo.svg"]},
    # Eleven includes: one over the limit of ten.
    "many.test": {"TXT": ["v=spf1 " + " ".join("include:i%d.many.test" % index for index in range(11)) + " -all"]},
    **{"i%d.many.test" % index: {"TXT": ["v=spf1 ip4:192.0.2.%d -all" % index]} for index in range(11)},
    "ten.test": {"TXT": ["v=spf1 " + " ".join("include:i%d.many.test" % index for index in range(10)) + " -all"]},
    "loop.test": {"TXT": ["v=spf1 include:loop2.test -all"]},
    "loop2.test": {"TXT": ["v=spf1 include:loop.test -all"]},
    "void.test": {"TXT": ["v=spf1 a:nx1.void.test a:nx2.void.test mx:nx3.void.test -all"]},
    "big.test": {"TXT": [BIG_SPF]},
    "plusall.test": {"TXT": ["v=spf1 +all"]},
    "sfinclude.test": {"TXT": ["v=spf1 include:broken.sf.test -all"]},
    "sfplusall.test": {"TXT": ["v=spf1 include:broken.sf.test +all"]},
    "badname.test": {"TXT": ["v=spf1 include:caf\u00e9.test include:%s.test -all" % ("x" * 70)]},
    "two.test": {"TXT": ["v=spf1 -all", "v=spf1 ip4:192.0.2.1 -all"]},
    "split.test": {"TXT": ["v=spf1 ip4:192.0.2.1 " + "ip4:192.0.2.2 " * 40 + "-all"]},
    "_dmarc.bad.test": {"TXT": ["v=DMARC1; p=none; rua=mailto:x@elsewhere.test; pct=50; fo=2; sp=block"]},
    "_dmarc.example.co.uk": {"TXT": ["v=DMARC1; p=quarantine; rua=mailto:d@example.co.uk"]},
}


@pytest.fixture(scope="module")
def server():
    with DnsServer(ZoneData(ZONE, servfail=["sf.test"])) as running:
        yield running


@pytest.fixture(scope="module")
def https(tmp_path_factory):
    policy = "version: STSv1\nmode: enforce\nmx: mail.good.test\nmax_age: 86400\n"
    with HttpsServer({"/good.test/.well-known/mta-sts.txt": policy}, tmp_path_factory.mktemp("tls")) as running:
        yield running


def resolver_for(server, timeout=1.0):
    return Resolver([parse_nameserver(server.address)], timeout=timeout, attempts=2)


def spf_check(server, domain, ips=()):
    return asyncio.run(check_spf(resolver_for(server), domain, ips))


@pytest.mark.parametrize(
    "domain, status, lookups, voids, problem",
    [
        pytest.param("good.test", "ok", 2, 0, None, id="include-and-a"),
        pytest.param("ten.test", "ok", 10, 0, None, id="ten-lookups-allowed"),
        pytest.param("many.test", "error", 11, 0, "needs 11 DNS lookups", id="eleven-lookups"),
        pytest.param("loop.test", "error", 2, 0, "loops back", id="include-loop"),
        pytest.param("void.test", "error", 3, 3, "3 void lookups", id="void-lookups"),
        pytest.param("big.test", "warning", 0, 0, "fits a 512-byte UDP message", id="record-4000-bytes"),
        pytest.param("plusall.test", "error", 0, 0, "+all authorises every host", id="plus-all"),
        pytest.param("two.test", "error", 0, 0, "publishes 2 SPF records", id="two-records"),
        pytest.param("nothing.test", "missing", 0, 0, "no SPF record", id="missing"),
        pytest.param("badname.test", "error", 2, 2, "has no SPF record", id="unencodable-include"),
    ],
)
def test_spf_check_by_tree(server, domain, status, lookups, voids, problem):
    check = spf_check(server, domain)
    assert check.status.value == status
    assert check.details["lookups"] == lookups
    assert check.details["void_lookups"] == voids
    if problem:
        assert any(problem in text.text for text in check.problems), check.problems


def test_spf_big_record_fetched_whole(server):
    assert len(BIG_SPF) > 4000
    assert spf_check(server, "big.test").record == BIG_SPF


@pytest.mark.parametrize(
    "address, result",
    [
        pytest.param("192.0.2.77", "pass", id="ip4-range"),
        pytest.param("198.51.100.5", "pass", id="include-a"),
        pytest.param("203.0.113.9", "fail", id="not-listed"),
    ],
)
def test_spf_authorisation_by_ip(server, address, result):
    check = spf_check(server, "good.test", [address])
    assert check.details["authorised"] == {address: result}


def test_spf_eleventh_lookup_permerror(server):
    check = spf_check(server, "many.test", ["192.0.2.10"])
    assert check.details["authorised"] == {"192.0.2.10": "permerror"}


def test_spf_timeout_unknown():
    with silent_server() as address:
        resolver = Resolver([parse_nameserver(address)], timeout=0.2, attempts=1)
        check = asyncio.run(check_spf(resolver, "good.test", []))
    assert check.status.value == "unknown"
    assert check.reason == "DNS lookup of good.test TXT failed: timeout"
    assert check.problems == ()


def test_spf_include_servfail_unknown(server):
    check = spf_check(server, "sfinclude.test", ["192.0.2.1"])
    assert check.status.value == "unknown"
    assert check.reason == "DNS lookup of broken.sf.test TXT failed: servfail"
    assert check.details["authorised"] == {"192.0.2.1": "temperror"}
    assert check.details["lookups"] == 1


def test_spf_include_servfail_keeps_certain_error(server):
    check = spf_check(server, "sfplusall.test")
    assert check.status.value == "error"
    assert check.reason == "DNS lookup of broken.sf.test TXT failed: servfail"
    assert [problem.text for problem in check.problems] == ["sfplusall.test: +all authorises every host on the internet"]


@pytest.mark.parametrize(
    "selector, status, bits, problem",
    [
        pytest.param("s2048", "ok", 2048, None, id="rsa-2048"),
        pytest.param("s1024", "warning", 1024, "use at least 2048", id="rsa-1024"),
        pytest.param("s768", "error", 768, "under 1024 bits", id="rsa-768"),
        pytest.param("revoked", "error", None, "revoked", id="revoked"),
        pytest.param("testing", "warning", 2048, "testing mode", id="testing-flag"),
        pytest.param("ed", "ok", 256, None, id="ed25519"),
        pytest.param("absent", "missing", None, "not published", id="absent"),
    ],
)
def test_dkim_selector_by_key(server, selector, status, bits, problem):
    check = asyncio.run(check_selector(resolver_for(server), "good.test", selector))
    assert check.status.value == status
    assert check.details.get("key_bits") == bits
    if problem:
        assert any(problem in item.text for item in check.problems), check.problems


def test_dmarc_odd_spacing_accepted(server):
    check = asyncio.run(check_dmarc(resolver_for(server), "good.test"))
    assert check.status.value == "ok", check.problems
    assert check.details["policy"] == "reject"


@pytest.mark.parametrize(
    "problem",
    ["p=none only monitors", "pct=50", "fo=2 is invalid", "sp=block is invalid", "elsewhere.test does not accept DMARC reports"],
    ids=["policy-none", "pct", "fo", "sp", "external-rua"],
)
def test_dmarc_bad_record_problems(server, problem):
    check = asyncio.run(check_dmarc(resolver_for(server), "bad.test"))
    assert check.status.value == "error"
    assert any(problem in item.text for item in check.problems), check.problems


def test_dmarc_falls_back_to_organizational_domain(server):
    check = asyncio.run(check_dmarc(resolver_for(server), "news.example.co.uk"))
    assert check.details["found_at"] == "_dmarc.example.co.uk"
    assert check.details["policy"] == "quarantine"


def test_check_domain_json_shape(server, https):
    options = AuthOptions(
        dkim_selectors=("s2048",),
        sending_ips=("198.51.100.5", "198.51.100.6"),
        mta_sts_policy_url="https://127.0.0.1:%d/{domain}/.well-known/mta-sts.txt" % https.port,
        mta_sts_verify=https.client_context(),
    )
    report = asyncio.run(check_domain(resolver_for(server), "good.test", options)).to_json()
    assert list(report) == ["domain", "spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "bimi", "mx", "ptr"]
    assert report["spf"]["lookups"] == 2
    assert report["mta_sts"]["status"] == "ok", report["mta_sts"]
    assert report["mta_sts"]["record"]["policy"]["mode"] == "enforce"
    assert report["tls_rpt"]["status"] == "ok"
    assert report["bimi"]["status"] == "ok"
    assert report["mx"]["record"] == ["10 mail.good.test"]
    assert report["ptr"]["198.51.100.5"]["status"] == "ok"
    assert report["ptr"]["198.51.100.6"]["status"] == "error"
    assert report["dkim"]["status"] == "ok"


def test_check_domain_mta_sts_bad_certificate(server, https):
    options = AuthOptions(mta_sts_policy_url="https://127.0.0.1:%d/{domain}/.well-known/mta-sts.txt" % https.port)
    report = asyncio.run(check_domain(resolver_for(server), "good.test", options)).to_json()
    assert report["mta_sts"]["status"] == "error"
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(report["mta_sts"]["problems"])


def test_check_domain_missing_records(server):
    report = asyncio.run(check_domain(resolver_for(server), "nothing.test", AuthOptions())).to_json()
    for name in ("spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "bimi", "mx"):
        assert report[name]["status"] == "missing", name


def test_check_domain_missing_levels(server):
    report = asyncio.run(check_domain(resolver_for(server), "nothing.test", AuthOptions()))
    for name in ("mta_sts", "tls_rpt", "bimi"):
        assert [problem.level for problem in report.checks[name].problems] == [Level.NOTE], name
    for name in ("spf", "dmarc", "mx"):
        assert [problem.level for problem in report.checks[name].problems] == [Level.ERROR], name
