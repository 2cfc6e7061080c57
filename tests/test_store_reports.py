"""Storing DMARC and TLS reports: deduplication and the per-source DMARC summary."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from click.testing import CliRunner

from inboxwatch.cli.report import command as report_command
from inboxwatch.model.reports import FailureReport, TlsReport
from inboxwatch.parsers.dmarc import parse_report
from inboxwatch.parsers.tlsrpt import parse_report as parse_tls_report
from inboxwatch.service.ingest import ingest_paths
from inboxwatch.store.db import open_engine
from inboxwatch.store.reports import (
    dmarc_failure_sources,
    dmarc_sources,
    failure_report_key,
    store_aggregate_reports,
    store_failure_reports,
    store_tls_reports,
)
from inboxwatch.store.schema import dmarc_failure_reports, dmarc_records, dmarc_reports, tls_policies, tls_reports
from report_support import MINIMAL_AGGREGATE, fixture, gzip_bytes

NOW = datetime(2023, 11, 20, tzinfo=timezone.utc)
WINDOW_START = datetime(2023, 11, 1, tzinfo=timezone.utc)


def count_rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_store_aggregate_report_once(engine):
    report = parse_report(fixture("dmarc-rfc7489.xml"), "test")
    with engine.begin() as conn:
        first = store_aggregate_reports(conn, [report], tenant="default", now=NOW)
    with engine.begin() as conn:
        second = store_aggregate_reports(conn, [report, report], tenant="default", now=NOW)
    assert (first.stored, first.duplicates) == (1, 0)
    assert (second.stored, second.duplicates) == (0, 2)
    assert count_rows(engine, dmarc_reports) == 1
    assert count_rows(engine, dmarc_records) == 2


def test_store_same_report_id_other_reporter(engine):
    report = parse_report(fixture("dmarc-rfc7489.xml"), "test")
    other = dataclasses.replace(report, org_name="Another Receiver", email="dmarc@another.example")
    with engine.begin() as conn:
        counts = store_aggregate_reports(conn, [report, other], tenant="default", now=NOW)
    assert counts.stored == 2


def test_store_tls_report_once(engine):
    (report,) = [item for item in parse_tls_report(fixture("tlsrpt-rfc8460.json"), "test") if isinstance(item, TlsReport)]
    with engine.begin() as conn:
        first = store_tls_reports(conn, [report], tenant="default", now=NOW)
        second = store_tls_reports(conn, [report], tenant="default", now=NOW)
    assert (first.stored, second.duplicates) == (1, 1)
    assert count_rows(engine, tls_reports) == 1
    assert count_rows(engine, tls_policies) == 1


def test_dmarc_sources_per_ip(engine):
    with engine.begin() as conn:
        store_aggregate_reports(conn, [parse_report(fixture("dmarc-rfc7489.xml"), "test")], tenant="default", now=NOW)
    with engine.connect() as conn:
        sources = dmarc_sources(conn, "Sender.Example", WINDOW_START, NOW)
    assert [source.source_ip for source in sources] == ["192.0.2.10", "198.51.100.7"]
    forwarded, failing = sources
    assert (forwarded.messages, forwarded.dmarc_pass, forwarded.dkim_pass, forwarded.spf_pass) == (1234, 1234, 1234, 0)
    assert (failing.messages, failing.dmarc_pass, failing.quarantined) == (6, 0, 6)
    assert forwarded.reporters == 1


def test_dmarc_sources_outside_window_empty(engine):
    with engine.begin() as conn:
        store_aggregate_reports(conn, [parse_report(fixture("dmarc-rfc7489.xml"), "test")], tenant="default", now=NOW)
    with engine.connect() as conn:
        assert dmarc_sources(conn, "sender.example", datetime(2024, 1, 1, tzinfo=timezone.utc), NOW.replace(year=2024)) == []


def test_report_dmarc_command_output(tmp_path):
    store_url = "sqlite:///%s" % (tmp_path / "store.db")
    engine = open_engine(store_url)
    with engine.begin() as conn:
        store_aggregate_reports(conn, [parse_report(fixture("dmarc-rfc7489.xml"), "test")], tenant="default", now=NOW)
    engine.dispose()

    runner = CliRunner()
    text = runner.invoke(report_command, ["dmarc", "--store", store_url, "--domain", "sender.example", "--days", "100000"])
    lines = runner.invoke(report_command, ["dmarc", "--store", store_url, "--domain", "sender.example", "--days", "100000", "--json"])

    assert text.exit_code == 0, text.output
    assert "1240 messages from 2 sources in 1 reports, 99.5% passing DMARC" in text.output
    assert "spoofing" in text.output
    rows = [json.loads(line) for line in lines.output.splitlines()]
    assert [row["source_ip"] for row in rows] == ["192.0.2.10", "198.51.100.7"]
    assert rows[0]["verdict"] == "unlisted-passing"


def test_ingest_stores_reports_once(engine, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "aggregate.xml.gz").write_bytes(gzip_bytes(MINIMAL_AGGREGATE))
    (reports / "tls.json").write_bytes(fixture("tlsrpt-rfc8460.json"))

    first = ingest_paths(engine, [str(reports)])
    summary = ingest_paths(engine, [str(reports)])

    assert [item.records_handled for item in first.inputs] == [1, 1]
    assert [item.records_handled for item in summary.inputs] == [0, 0]
    assert [item.duplicates for item in summary.inputs] == [1, 1]
    assert count_rows(engine, dmarc_reports) == 1
    assert count_rows(engine, dmarc_records) == 1
    assert count_rows(engine, tls_reports) == 1


FAILURE = FailureReport(
    feedback_type="auth-failure",
    source_ip="198.51.100.23",
    reported_domain="Sender.Example",
    arrival_date="Mon, 13 Nov 2023 10:00:00 +0000",
    original_mail_from="<spoof@elsewhere.example>",
    original_from="Sender <news@sender.example>",
    original_message_id="<spoof-1@elsewhere.example>",
    auth_failure="dmarc",
)


def test_failure_key_case_insensitive():
    shouted = dataclasses.replace(
        FAILURE,
        reported_domain="SENDER.EXAMPLE",
        original_mail_from="<SPOOF@elsewhere.example>",
        original_from="Sender <NEWS@sender.example>",
    )
    assert failure_report_key(shouted) == failure_report_key(FAILURE)
    assert failure_report_key(dataclasses.replace(FAILURE, original_message_id="<spoof-2@elsewhere.example>")) != failure_report_key(FAILURE)


def test_store_failure_report_once(engine):
    with engine.begin() as conn:
        first = store_failure_reports(conn, [FAILURE], tenant="default", now=NOW)
    with engine.begin() as conn:
        second = store_failure_reports(conn, [FAILURE, FAILURE], tenant="default", now=NOW)
    assert (first.stored, first.duplicates) == (1, 0)
    assert (second.stored, second.duplicates) == (0, 2)
    assert count_rows(engine, dmarc_failure_reports) == 1


def test_failure_sources_count_and_latest_sample(engine):
    later = dataclasses.replace(FAILURE, arrival_date="Tue, 14 Nov 2023 08:30:00 +0000", original_message_id="<spoof-2@elsewhere.example>")
    other_ip = dataclasses.replace(FAILURE, source_ip="203.0.113.5", original_message_id="<spoof-3@elsewhere.example>")
    other_domain = dataclasses.replace(FAILURE, reported_domain="other.example")
    with engine.begin() as conn:
        store_failure_reports(conn, [FAILURE, later, other_ip, other_domain], tenant="default", now=NOW)
    with engine.connect() as conn:
        sources = dmarc_failure_sources(conn, "sender.example", WINDOW_START, NOW)
    assert [(source.source_ip, source.reports) for source in sources] == [("198.51.100.23", 2), ("203.0.113.5", 1)]
    assert sources[0].latest_message_id == "<spoof-2@elsewhere.example>"
    assert sources[0].latest_at == datetime(2023, 11, 14, 8, 30, tzinfo=timezone.utc)


def test_failure_undated_uses_receipt_time(engine):
    undated = dataclasses.replace(FAILURE, arrival_date=None, reported_domain=None)
    with engine.begin() as conn:
        store_failure_reports(conn, [undated], tenant="default", now=NOW)
    with engine.connect() as conn:
        (source,) = dmarc_failure_sources(conn, "sender.example", WINDOW_START, NOW)
    # Without Reported-Domain the domain comes from the original From header.
    assert source.latest_at == NOW


def test_report_dmarc_command_failure_sources(tmp_path):
    store_url = "sqlite:///%s" % (tmp_path / "store.db")
    engine = open_engine(store_url)
    with engine.begin() as conn:
        store_failure_reports(conn, [FAILURE], tenant="default", now=NOW)
    engine.dispose()

    runner = CliRunner()
    arguments = ["dmarc", "--store", store_url, "--domain", "sender.example", "--days", "100000"]
    text = runner.invoke(report_command, arguments)
    lines = runner.invoke(report_command, arguments + ["--json"])

    assert text.exit_code == 0, text.output
    assert "DMARC failure reports for sender.example: 1 from 1 sources" in text.output
    assert "<spoof-1@elsewhere.example>" in text.output
    (row,) = [json.loads(line) for line in lines.output.splitlines()]
    assert row["kind"] == "dmarc-failure"
    assert row["source_ip"] == "198.51.100.23"
    assert row["reports"] == 1


def test_ingest_stores_failure_reports_once(engine, tmp_path):
    path = tmp_path / "failure.eml"
    path.write_bytes(fixture("dmarc-failure-rfc6591.eml"))

    first = ingest_paths(engine, [str(path)])
    ingest_paths(engine, [str(path)])

    assert first.inputs[0].kind == "dmarc-failure"
    assert first.inputs[0].records_handled == 1
    assert count_rows(engine, dmarc_failure_reports) == 1


def test_store_failure_recipient_domain_only(engine):
    report = dataclasses.replace(FAILURE, original_rcpt_to="<user@Receiver.Example>")
    with engine.begin() as conn:
        store_failure_reports(conn, [report], tenant="default", now=NOW, recipient_retention="domain")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(dmarc_failure_reports.c.report)).scalar_one()
    assert stored["original_rcpt_to"] == "receiver.example"
    assert stored["source_ip"] == "198.51.100.23"
