"""`inboxwatch check blocklists` and `inboxwatch check auth` against a DNS server on loopback."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dnsserver import DnsServer, ZoneData
from inboxwatch.cli.main import cli

ZONE = {
    "2.0.0.127.bl.test": {"A": ["127.0.0.2"]},
    "10.2.0.192.bl.test": {"A": ["127.0.0.2"], "TXT": ["spam trap hits"]},
    "2.0.0.127.zen.spamhaus.org": {"A": ["127.0.0.2", "127.0.0.4", "127.0.0.10"]},
    "10.2.0.192.zen.spamhaus.org": {"A": ["127.0.0.3"], "TXT": ["https://check.spamhaus.org/listed/?searchterm=192.0.2.10"]},
    "good.test": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all"], "MX": ["10 mx.good.test."]},
    "mx.good.test": {"A": ["192.0.2.25"]},
    "_dmarc.good.test": {"TXT": ["v=DMARC1; p=reject; rua=mailto:d@good.test"]},
    "25.2.0.192.in-addr.arpa": {"PTR": ["mx.good.test."]},
    # A generic list that answers every query with a code outside 127.0.0.0/24.
    "*.odd.test": {"A": ["127.255.255.254"]},
}


@pytest.fixture(scope="module")
def server():
    with DnsServer(ZoneData(ZONE, servfail=["broken.test"])) as running:
        yield running


@pytest.fixture
def in_empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*arguments):
    return CliRunner().invoke(cli, list(arguments), catch_exceptions=False)


def json_lines(output):
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_blocklists_json_lines(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.10", "192.0.2.11", "--zone", "bl.test", "--zone", "spamhaus-zen", "--json", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 4, result.output
    rows = {(row["asset"], row["list"]): row for row in json_lines(result.stdout)}
    assert rows[("192.0.2.10", "bl.test")]["status"] == "listed"
    assert rows[("192.0.2.10", "bl.test")]["reason"] == "spam trap hits"
    assert rows[("192.0.2.11", "bl.test")]["status"] == "clear"
    zen = rows[("192.0.2.10", "spamhaus-zen")]
    assert zen["meaning"] == "Spamhaus SBL CSS: snowshoe spam source detected by automation"
    assert zen["delist_url"] == "https://check.spamhaus.org/"
    assert zen["list_health"] == "healthy"
    assert sorted(zen) == ["asset", "codes", "delist_url", "list", "list_health", "meaning", "reason", "status"]


def test_check_blocklists_config_assets(server, in_empty_folder):
    (in_empty_folder / "inboxwatch.toml").write_text('[sender]\nips = ["192.0.2.10"]\ndomains = []\n')
    result = run("check", "blocklists", "--zone", "bl.test", "--json", "--nameserver", server.address)
    assert result.exit_code == 4, result.output
    assert [row["asset"] for row in json_lines(result.stdout)] == ["192.0.2.10"]


def test_check_blocklists_uses_checks_section(server, in_empty_folder):
    # Without --nameserver and --zone, the configured resolver and zones apply, never the system resolver.
    (in_empty_folder / "inboxwatch.toml").write_text(
        '[checks]\nnameservers = ["%s"]\nzones = ["bl.test"]\ntimeout = 0.5\n' % server.address
    )
    result = run("check", "blocklists", "192.0.2.10", "--json")
    assert result.exit_code == 4, result.output
    rows = json_lines(result.stdout)
    assert [(row["list"], row["status"]) for row in rows] == [("bl.test", "listed")]


@pytest.mark.parametrize(
    "asset, message",
    [
        pytest.param("192.0.2.300", "invalid IP address '192.0.2.300'", id="octet-too-large"),
        pytest.param("exa mple.com", "invalid domain", id="space-in-domain"),
        pytest.param("203.0.113.010", "leading zero", id="octet-leading-zero"),
    ],
)
def test_check_blocklists_bad_asset(in_empty_folder, asset, message):
    result = CliRunner().invoke(cli, ["check", "blocklists", asset, "--nameserver", "127.0.0.1:9"])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    "option, value, message",
    [
        pytest.param("--nameserver", "not_a_host", "invalid nameserver 'not_a_host'", id="nameserver-underscore"),
        pytest.param("--nameserver", "127.0.0.1:99999", "expected a number from 1 to 65535", id="nameserver-port"),
        pytest.param("--zone", "bl..test", "invalid list zone 'bl..test'", id="zone-empty-label"),
        pytest.param("--zone", "spamhaus-zenn", "invalid list zone 'spamhaus-zenn'", id="zone-unknown-name"),
    ],
)
def test_check_blocklists_bad_option_rejected(in_empty_folder, option, value, message):
    # Rejected before any query is sent.
    result = run("check", "blocklists", "192.0.2.10", option, value)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_check_auth_hostname_as_ip(in_empty_folder):
    result = CliRunner().invoke(cli, ["check", "auth", "good.test", "--ip", "mail.good.test", "--nameserver", "127.0.0.1:9"])
    assert result.exit_code == 2
    assert "'mail.good.test': it looks like a hostname" in result.output


def test_check_blocklists_without_assets(in_empty_folder):
    result = CliRunner().invoke(cli, ["check", "blocklists", "--nameserver", "127.0.0.1:9"])
    assert result.exit_code == 2
    assert "[sender] ips and domains" in result.output


def test_check_auth_json(server, in_empty_folder):
    result = run("check", "auth", "good.test", "--json", "--nameserver", server.address, "--ip", "192.0.2.25", "--mta-sts-url", "https://127.0.0.1:9/{domain}", "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    (report,) = json_lines(result.stdout)
    assert report["domain"] == "good.test"
    assert report["spf"]["status"] == "ok"
    assert report["spf"]["lookups"] == 0
    assert report["spf"]["void_lookups"] == 0
    assert report["spf"]["authorised"] == {"192.0.2.25": "pass"}
    assert report["dmarc"]["status"] == "ok"
    assert report["dkim"]["status"] == "missing"
    assert report["mx"]["record"] == ["10 mx.good.test"]
    for name in ("spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "bimi", "mx"):
        assert {"status", "record", "problems"} <= set(report[name]), name


def test_check_auth_servfail_json_unknown(server, in_empty_folder):
    result = run("check", "auth", "broken.test", "--json", "--nameserver", server.address, "--mta-sts-url", "https://127.0.0.1:9/{domain}", "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    (report,) = json_lines(result.stdout)
    assert report["spf"]["status"] == "unknown"
    assert report["spf"]["reason"] == "DNS lookup of broken.test TXT failed: servfail"
    assert report["spf"]["problems"] == []
    assert report["dmarc"]["status"] == "unknown"
    assert report["mx"]["status"] == "unknown"


def test_check_auth_servfail_table_unknown(server, in_empty_folder):
    result = run("check", "auth", "broken.test", "--nameserver", server.address, "--mta-sts-url", "https://127.0.0.1:9/{domain}", "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    assert "  spf      unknown: DNS lookup of broken.test TXT failed: servfail" in result.output.splitlines()


def test_check_blocklists_domain_on_ip_list(server, in_empty_folder):
    result = run("check", "blocklists", "mail.example.com", "--zone", "zen.spamhaus.org", "--json", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    (row,) = json_lines(result.stdout)
    assert row["asset"] == "mail.example.com"
    assert row["list"] == "spamhaus-zen"
    assert row["status"] == "unknown"
    assert row["meaning"] == "not applicable"
    assert row["reason"] == "zen.spamhaus.org lists IP addresses only; mail.example.com is a domain"
    assert "no selected list takes any of the assets" in result.stderr


def test_check_blocklists_query_name_as_asset(server, in_empty_folder):
    result = run("check", "blocklists", "10.113.0.203.zen.spamhaus.org", "--zone", "spamhaus-zen", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith("10.113.0.203.zen.spamhaus.org")
    assert " unknown " in line
    assert "check the IP address 203.0.113.10 instead" in line


def test_check_blocklists_inapplicable_pair_rows(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.10", "example.com", "--zone", "spamhaus-zen", "--zone", "spamhaus-dbl", "--json", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 4, result.output
    rows = {(row["asset"], row["list"]): row for row in json_lines(result.stdout)}
    assert set(rows) == {("192.0.2.10", "spamhaus-zen"), ("192.0.2.10", "spamhaus-dbl"), ("example.com", "spamhaus-zen"), ("example.com", "spamhaus-dbl")}
    assert rows[("192.0.2.10", "spamhaus-dbl")]["meaning"] == "not applicable"
    assert rows[("192.0.2.10", "spamhaus-dbl")]["reason"] == "dbl.spamhaus.org lists domains only; 192.0.2.10 is an IP address"
    assert rows[("example.com", "spamhaus-zen")]["meaning"] == "not applicable"
    assert rows[("192.0.2.10", "spamhaus-zen")]["status"] == "listed"
    assert "no selected list takes" not in result.stderr


def test_check_blocklists_uncatalogued_code_unknown(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.10", "--zone", "odd.test", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert " unknown " in line
    assert "return code 127.255.255.254 is not understood" in line
    assert "listed," not in line


def test_check_blocklists_unreachable_reason_json(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.10", "--zone", "broken.test", "--json", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    (row,) = json_lines(result.stdout)
    assert row["status"] == "unknown"
    assert row["list_health"] == "unreachable"
    assert row["reason"] == "list broken.test is unreachable: its test queries timed out or failed"


@pytest.mark.parametrize("domain", ["192.0.2.1", "2001:db8::1", "203.0.113.010"])
def test_check_auth_ip_as_domain(in_empty_folder, domain):
    result = CliRunner().invoke(cli, ["check", "auth", domain, "--nameserver", "127.0.0.1:9"])
    assert result.exit_code == 2
    assert "is an IP address, not a domain" in result.output
    assert "--ip" in result.output


def test_check_auth_table_ptr_and_notes(server, in_empty_folder):
    result = run("check", "auth", "good.test", "--nameserver", server.address, "--ip", "192.0.2.25", "--mta-sts-url", "https://127.0.0.1:9/{domain}", "--timeout", "0.5")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  ptr      192.0.2.25 ok mx.good.test" in lines
    assert "           note: no MTA-STS record at _mta-sts.good.test" in lines
    assert "           note: no record at _smtp._tls.good.test" in lines
    assert "           error: no record at _smtp._tls.good.test" not in lines
    assert "           error: no DKIM selector given: selectors cannot be discovered from DNS, pass --dkim-selector" in lines


def stored_rows(folder, table_name):
    from inboxwatch.store.db import open_engine
    from inboxwatch.store import schema

    engine = open_engine("sqlite:///%s" % (folder / "inboxwatch.db"))
    try:
        with engine.connect() as conn:
            return conn.execute(schema.metadata.tables[table_name].select()).mappings().all()
    finally:
        engine.dispose()


def test_check_blocklists_stores_results(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.10", "192.0.2.11", "--zone", "bl.test", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 4, result.output
    rows = stored_rows(in_empty_folder, "dns_check_results")
    assert sorted((row["kind"], row["subject"], row["status"]) for row in rows) == [("blocklist", "192.0.2.10", "listed"), ("blocklist", "192.0.2.11", "clear")]
    (episode,) = stored_rows(in_empty_folder, "blocklist_listings")
    assert episode["asset"] == "192.0.2.10"
    assert episode["delisted_at"] is None


def test_check_blocklists_clear_exits_0(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.11", "--zone", "bl.test", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 0, result.output


def test_check_blocklists_no_save(server, in_empty_folder):
    result = run("check", "blocklists", "192.0.2.10", "--zone", "bl.test", "--no-save", "--nameserver", server.address, "--timeout", "0.5")
    assert result.exit_code == 4, result.output
    assert not (in_empty_folder / "inboxwatch.db").exists()


def test_check_auth_stores_and_fails(server, in_empty_folder):
    result = run("check", "auth", "good.test", "nospf.test", "--nameserver", server.address, "--ip", "192.0.2.25", "--mta-sts-url", "https://127.0.0.1:9/{domain}", "--timeout", "0.5")
    assert result.exit_code == 4, result.output
    rows = stored_rows(in_empty_folder, "dns_check_results")
    assert sorted((row["kind"], row["subject"]) for row in rows) == [("auth", "good.test"), ("auth", "nospf.test")]
