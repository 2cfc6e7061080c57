"""SMTP TLS reports: fields, policy types, containers and per-policy errors."""

from __future__ import annotations

import json

import pytest

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.model.reports import TlsReport
from inboxwatch.parsers.tlsrpt import parse_report
from report_support import fixture, gzip_bytes, parse_bytes, report_email


def tls_report(policies: list[dict], **top) -> bytes:
    data = {
        "organization-name": "Receiver Example",
        "date-range": {"start-datetime": "2024-05-01T00:00:00Z", "end-datetime": "2024-05-01T23:59:59Z"},
        "contact-info": "tlsrpt@receiver.example",
        "report-id": "tls-test",
        "policies": policies,
    }
    data.update(top)
    return json.dumps(data).encode("utf-8")


def policy(domain: str | None, policy_type: str = "sts", successful=1, failed=0, **extra) -> dict:
    described = {"policy-type": policy_type, **extra}
    if domain is not None:
        described["policy-domain"] = domain
    return {
        "policy": described,
        "summary": {"total-successful-session-count": successful, "total-failure-session-count": failed},
    }


def split(items) -> tuple[TlsReport, list[Rejected]]:
    items = list(items)
    reports = [item for item in items if isinstance(item, TlsReport)]
    assert len(reports) == 1
    return reports[0], [item for item in items if isinstance(item, Rejected)]


def test_tlsrpt_rfc8460_fields():
    report, rejected = split(parse_report(fixture("tlsrpt-rfc8460.json"), "test"))
    assert rejected == []
    assert report.organization == "Receiver Example"
    assert report.report_id == "tls-0001"
    assert report.contact_info == "tlsrpt@receiver.example"
    assert report.begin == 1714521600
    assert report.end == 1714607999
    assert report.total_successful == 120
    assert report.total_failed == 4


def test_tlsrpt_policy_and_failure_details():
    report, _ = split(parse_report(fixture("tlsrpt-rfc8460.json"), "test"))
    (sts,) = report.policies
    assert sts.domain == "sender.example"
    assert sts.type == "sts"
    assert sts.mx_hosts == ("mx.sender.example",)
    assert sts.policy_strings[1] == "mode: enforce"
    expired, no_starttls = sts.failure_details
    assert expired.result_type == "certificate-expired"
    assert expired.sending_mta_ip == "203.0.113.5"
    assert expired.receiving_ip == "192.0.2.25"
    assert expired.failed_session_count == 3
    assert no_starttls.additional_information == "https://receiver.example/tls-help"


def test_tlsrpt_to_json_contract_fields():
    data = split(parse_report(fixture("tlsrpt-rfc8460.json"), "test"))[0].to_json()
    assert data["organization"] == "Receiver Example"
    assert data["report_id"] == "tls-0001"
    assert data["total_successful"] == 120
    assert data["total_failed"] == 4
    assert [(p["domain"], p["type"], p["successful"], p["failed"]) for p in data["policies"]] == [
        ("sender.example", "sts", 120, 4)
    ]


def test_tlsrpt_mx_host_as_list():
    data = tls_report([policy("sender.example", **{"mx-host": ["mx1.sender.example", "mx2.sender.example"]})])
    report, _ = split(parse_report(data, "test"))
    assert report.policies[0].mx_hosts == ("mx1.sender.example", "mx2.sender.example")


@pytest.mark.parametrize("policy_type", ["sts", "tlsa", "no-policy-found", "STS"])
def test_tlsrpt_every_policy_type(policy_type):
    report, _ = split(parse_report(tls_report([policy("sender.example", policy_type)]), "test"))
    assert report.policies[0].type == policy_type.lower()
    assert report.warnings == ()


def test_tlsrpt_unknown_policy_type_kept_with_warning():
    report, _ = split(parse_report(tls_report([policy("sender.example", "dane-ish")]), "test"))
    assert report.policies[0].type == "dane-ish"
    assert "unknown policy-type 'dane-ish'" in report.warnings[0]


def test_tlsrpt_missing_policy_domain_rejects_policy_only():
    data = tls_report([policy(None, "no-policy-found", successful=2), policy("sender.example", successful=5)])
    report, rejected = split(parse_report(data, "test"))
    assert [p.domain for p in report.policies] == [None, "sender.example"]
    assert report.total_successful == 7
    assert len(rejected) == 1
    assert "missing policy-domain in policies[1]" in str(rejected[0].error)


def test_tlsrpt_missing_failure_count_reads_zero():
    data = tls_report([{"policy": {"policy-type": "sts", "policy-domain": "sender.example"},
                        "summary": {"total-successful-session-count": 9}}])
    report, _ = split(parse_report(data, "test"))
    assert report.total_failed == 0
    assert report.total_successful == 9


def test_tlsrpt_same_domain_policies_not_double_counted():
    data = tls_report([
        policy("sender.example", "sts", successful=2, failed=1),
        policy("sender.example", "tlsa", successful=2, failed=1),
        policy("other.example", "sts", successful=3),
    ])
    report, _ = split(parse_report(data, "test"))
    by_domain = {sessions.domain: (sessions.successful, sessions.failed) for sessions in report.sessions_by_domain()}
    assert by_domain == {"sender.example": (2, 1), "other.example": (3, 0)}
    assert [(p.domain, p.type) for p in report.policies] == [
        ("sender.example", "sts"),
        ("sender.example", "tlsa"),
        ("other.example", "sts"),
    ]
    # The report's totals are the reporter's own counts, added up as written.
    assert report.total_successful == 7


def test_tlsrpt_non_numeric_count_rejects_policy():
    data = tls_report([policy("bad.example", successful="many"), policy("sender.example", successful=4)])
    report, rejected = split(parse_report(data, "test"))
    assert [p.domain for p in report.policies] == ["sender.example"]
    assert len(rejected) == 1
    assert "invalid session count in policies[1].summary: 'many' is not a whole number" in str(rejected[0].error)


def test_tlsrpt_missing_report_id_rejected():
    data = tls_report([policy("sender.example")], **{"report-id": None})
    with pytest.raises(ParseError, match="missing report-id"):
        list(parse_report(data, "test"))


def test_tlsrpt_invalid_json_rejected(tmp_path):
    outcome = parse_bytes(tmp_path, "bad.json", b'{"organization-name": "X", "policies": [', kind="tlsrpt")
    assert outcome.records == []
    assert "invalid JSON in the SMTP TLS report" in str(outcome.error)


@pytest.mark.parametrize(
    "media_type, compress",
    [
        ("application/tlsrpt+json", False),
        ("application/tlsrpt+gzip", True),
        ("application/json", False),
        ("text/plain", False),
    ],
    ids=["tlsrpt-json", "tlsrpt-gzip", "application-json", "text-plain"],
)
def test_tlsrpt_detected_in_email(tmp_path, media_type, compress):
    body = fixture("tlsrpt-rfc8460.json")
    message = report_email(gzip_bytes(body) if compress else body, media_type, "report.json",
                           subject="Report Domain: sender.example Submitter: receiver.example")
    outcome = parse_bytes(tmp_path, "report.eml", message)
    assert outcome.error is None
    assert outcome.kind == "tlsrpt"
    assert [report.report_id for report in outcome.records] == ["tls-0001"]


def test_tlsrpt_detected_in_gzip_file(tmp_path):
    outcome = parse_bytes(tmp_path, "report.json.gz", gzip_bytes(fixture("tlsrpt-rfc8460.json")))
    assert outcome.kind == "tlsrpt"
    assert outcome.records[0].total_successful == 120


def test_tlsrpt_not_claimed_by_dmarc_parser(tmp_path):
    outcome = parse_bytes(tmp_path, "report.json", fixture("tlsrpt-rfc8460.json"))
    assert outcome.kind == "tlsrpt"
