"""The report checks and `inboxwatch report` on stored reports, with SPF and reverse DNS from a DNS server on loopback."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from inboxwatch.cli.report import command as report_command
from inboxwatch.config.models import Config
from inboxwatch.model.reports import AggregateReport, AggregateRow, PolicyPublished, TlsFailureDetail, TlsPolicy, TlsReport
from inboxwatch.service.report_checks import run_report_checks
from inboxwatch.service.senders import SenderDirectory
from inboxwatch.store.reports import store_aggregate_reports, store_tls_reports
from inboxwatch.store.schema import alerts as alerts_table
from dnsserver import DnsServer, ZoneData

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
DOMAIN = "sender.example"
OUR_IP = "192.0.2.10"
ESP_IP = "203.0.113.9"
SPOOFER_IP = "198.51.100.7"

ZONE = {
    "_spf.esp.example": {"TXT": ["v=spf1 ip4:203.0.113.0/24 -all"]},
    "9.113.0.203.in-addr.arpa": {"PTR": ["o1.esp.example."]},
    "10.2.0.192.in-addr.arpa": {"PTR": ["mail.sender.example."]},
}


@pytest.fixture(scope="module")
def dns_server():
    with DnsServer(ZoneData(ZONE)) as running:
        yield running


def day_start(days_before_now: int) -> datetime:
    return datetime.combine((NOW - days_before_now * DAY).date(), datetime.min.time(), tzinfo=timezone.utc)


def aggregate(report_id: str, day: datetime, rows: list[tuple[str, int, bool]]) -> AggregateReport:
    """Build a one-day aggregate report; each row is (source IP, messages, passes DMARC)."""
    return AggregateReport(
        org_name="Receiver",
        report_id=report_id,
        begin=int(day.timestamp()),
        end=int((day + DAY).timestamp()) - 1,
        policy=PolicyPublished(DOMAIN, p="none"),
        rows=tuple(
            AggregateRow(ip, count, "none", "pass" if passes else "fail", "pass" if passes else "fail", DOMAIN)
            for ip, count, passes in rows
        ),
    )


def tls_report(day: datetime, successful: int, failed: int) -> TlsReport:
    detail = TlsFailureDetail("certificate-expired", failed, sending_mta_ip="192.0.2.10", receiving_mx_hostname="mx1.sender.example")
    policies = (
        TlsPolicy(DOMAIN, "sts", successful, failed, failure_details=(detail,)),
        TlsPolicy(DOMAIN, "tlsa", successful, failed),
    )
    return TlsReport("TLS Reporter", "tls-%s" % day.date(), int(day.timestamp()), int((day + DAY).timestamp()) - 1, policies)


def make_config(dns_server: DnsServer, **dmarc) -> Config:
    settings = {
        "known_senders": ["192.0.2.0/24"],
        "known_spf_includes": ["_spf.esp.example"],
        "nameservers": [dns_server.address],
        "pass_rate_threshold": 0.95,
        **dmarc,
    }
    return Config.model_validate({"sender": {"domains": [DOMAIN]}, "dmarc": settings, "tlsrpt": {"failure_rate_threshold": 0.05}})


def store_history(engine) -> None:
    """Fourteen days of passing mail from our IP; yesterday also a new ESP IP and a spoofer, both failing."""
    reports = [aggregate("day-%d" % days, day_start(days), [(OUR_IP, 1000, True)]) for days in range(2, 16)]
    reports.append(aggregate("day-1", day_start(1), [(OUR_IP, 1000, True), (ESP_IP, 60, False), (SPOOFER_IP, 80, False)]))
    with engine.begin() as conn:
        store_aggregate_reports(conn, reports, tenant="default", now=NOW)
        store_tls_reports(conn, [tls_report(day_start(1), 900, 100)], tenant="default", now=NOW)


def breached(summary) -> dict[tuple[str, str], str]:
    return {(signal.rule, signal.labels.get("source_ip", "")): signal.summary for signal in summary.signals if signal.breached}


def open_alert_rules(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(alerts_table.c.rule, alerts_table.c.labels).where(alerts_table.c.state != "resolved"))
        return sorted((row.rule, (row.labels or {}).get("source_ip", "")) for row in rows)


def test_report_checks_raise_signals(engine, dns_server):
    store_history(engine)
    config = make_config(dns_server)

    summary = run_report_checks(engine, config, NOW, SenderDirectory(config.dmarc))

    found = breached(summary)
    assert set(found) == {
        ("dmarc_pass_rate", ""),
        ("dmarc_new_source", ESP_IP),
        ("dmarc_new_source", SPOOFER_IP),
        ("tlsrpt_failure_rate", ""),
    }
    assert "(known sender (SPF _spf.esp.example))" in found[("dmarc_new_source", ESP_IP)]
    assert "(unknown sender)" in found[("dmarc_new_source", SPOOFER_IP)]
    assert "10.0% of 1000 TLS sessions failed" in found[("tlsrpt_failure_rate", "")]
    assert ("dmarc_new_source", SPOOFER_IP) in open_alert_rules(engine)


def test_report_checks_resolve_and_detect_silence(engine, dns_server):
    store_history(engine)
    config = make_config(dns_server)
    directory = SenderDirectory(config.dmarc)
    run_report_checks(engine, config, NOW, directory)

    two_days_later = run_report_checks(engine, config, NOW + 2 * DAY, directory)
    five_days_later = run_report_checks(engine, config, NOW + 5 * DAY, directory)

    assert not any(rule == "dmarc_new_source" for rule, _ in open_alert_rules(engine))
    assert ("dmarc_reports_missing", "") not in breached(two_days_later)
    assert ("dmarc_reports_missing", "") in breached(five_days_later)


def test_report_checks_spf_lookup_cached(engine, dns_server):
    store_history(engine)
    config = make_config(dns_server)
    directory = SenderDirectory(config.dmarc)
    run_report_checks(engine, config, NOW, directory)
    queries = len(dns_server.zone.queries)

    run_report_checks(engine, config, NOW + timedelta(minutes=15), directory)

    assert len(dns_server.zone.queries) == queries


def write_config(tmp_path, dns_server: DnsServer) -> str:
    path = tmp_path / "inboxwatch.toml"
    path.write_text(
        '[dmarc]\nknown_senders = ["192.0.2.0/24"]\nknown_spf_includes = ["_spf.esp.example"]\n'
        'nameservers = ["%s"]\n' % dns_server.address
    )
    return str(path)


def test_cli_report_dmarc_names_senders(engine, store_url, dns_server, tmp_path):
    store_history(engine)
    arguments = ["dmarc", "--store", store_url, "--config", write_config(tmp_path, dns_server), "--domain", DOMAIN, "--days", "100000"]

    text = CliRunner().invoke(report_command, arguments + ["--reverse-dns"])
    lines = CliRunner().invoke(report_command, arguments + ["--json"])

    assert text.exit_code == 0, text.output
    assert "known senders:       2 sources     15060 messages  99.6% passing" in text.output
    assert "unknown senders:     1 sources        80 messages   0.0% passing" in text.output
    assert "o1.esp.example" in text.output
    assert "unknown sender failing: spoofing" in text.output
    rows = {row["source_ip"]: row for row in map(json.loads, lines.output.splitlines())}
    assert rows[OUR_IP]["verdict"] == "ok"
    assert rows[ESP_IP]["verdict"] == "ours-failing"
    assert rows[ESP_IP]["matched_by"] == "SPF _spf.esp.example"
    assert rows[SPOOFER_IP]["verdict"] == "spoofing"
    assert rows[SPOOFER_IP]["reverse_name"] is None


def test_cli_report_tls_lists_failures(engine, store_url):
    store_history(engine)

    result = CliRunner().invoke(report_command, ["tls", "--store", store_url, "--domain", DOMAIN, "--days", "100000"])

    assert result.exit_code == 0, result.output
    assert "1000 sessions in 1 reports, 100 failed (10.00%)" in result.output
    assert "TLS Reporter" in result.output
    assert "100  certificate-expired  mx mx1.sender.example  from 192.0.2.10" in result.output


def test_cli_report_check_prints_breaches(engine, store_url, dns_server, tmp_path):
    store_history(engine)
    arguments = ["check", "--store", store_url, "--config", write_config(tmp_path, dns_server), "--at", NOW.isoformat(), "--no-notify"]

    result = CliRunner().invoke(report_command, arguments)

    assert result.exit_code == 0, result.output
    assert "breached dmarc_new_source" in result.output
    assert "198.51.100.7 (unknown sender)" in result.output
    assert "alert " in result.output
