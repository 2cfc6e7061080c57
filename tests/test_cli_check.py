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
    assert result.exit_code == 0, result.output
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
    assert result.exit_code == 0, result.output
    assert [row["asset"] for row in json_lines(result.stdout)] == ["192.0.2.10"]


@pytest.mark.parametrize(
    "asset, message",
    [
        pytest.param("192.0.2.300", "invalid IP address '192.0.2.300'", id="octet-too-large"),
        pytest.param("exa mple.com", "invalid domain", id="space-in-domain"),
    ],
)
def test_check_blocklists_bad_asset(in_empty_folder, asset, message):
    result = CliRunner().invoke(cli, ["check", "blocklists", asset, "--nameserver", "127.0.0.1:9"])
    assert result.exit_code == 2
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
