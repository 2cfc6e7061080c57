"""DMARC failure reports: RFC 6591 ARF reports and their plain-text variants."""

from __future__ import annotations

from inboxwatch.parsers import dmarc_failure
from report_support import fixture, parse_bytes

TEXT_ONLY_REPORT = b"""From: mailer-daemon@receiver.example
To: ruf@sender.example
Subject: DMARC failure report for sender.example
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

A message claiming to be from sender.example failed DMARC.

  Feedback-Type: auth-failure
  Version: 1
  User-Agent: TinyMTA/0.9
  Source-IP: 198.51.100.23
  Reported-Domain: sender.example
  Original-Mail-From: spoof@elsewhere.example
  Original-Rcpt-To: user@receiver.example
  Auth-Failure: spf
  Authentication-Results: mx.receiver.example; spf=fail
    smtp.mailfrom=elsewhere.example

The original headers are not included.
"""

ABUSE_REPORT = b"""From: fbl@receiver.example
To: abuse@sender.example
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b"

--b
Content-Type: message/feedback-report

Feedback-Type: abuse
Version: 1
Source-IP: 192.0.2.9

--b--
"""


def test_failure_rfc6591_complaint_fields(tmp_path):
    outcome = parse_bytes(tmp_path, "failure.eml", fixture("dmarc-failure-rfc6591.eml"))
    assert outcome.error is None
    assert outcome.kind == "dmarc-failure"
    (report,) = outcome.records
    assert report.feedback_type == "auth-failure"
    assert report.source_ip == "192.0.2.77"
    assert report.reported_domain == "sender.example"
    assert report.original_rcpt_to == "<user@receiver.example>"
    assert report.original_mail_from == "<bounces@sender.example>"
    assert report.text_only is False


def test_failure_rfc6591_authentication_fields(tmp_path):
    (report,) = parse_bytes(tmp_path, "failure.eml", fixture("dmarc-failure-rfc6591.eml")).records
    assert report.auth_failure == "dmarc"
    assert report.delivery_result == "reject"
    assert report.identity_alignment == "dkim"
    assert report.dkim_domain == "sender.example"
    assert report.dkim_selector == "s1"
    assert report.authentication_results == (
        "mx.receiver.example; dkim=fail (signature did not verify) header.d=sender.example; "
        "dmarc=fail header.from=sender.example"
    )
    assert report.reported_uri == ("https://sender.example/offer", "https://sender.example/unsubscribe")
    assert report.arrival_date == "Wed, 01 May 2024 09:59:58 +0000"


def test_failure_original_message_headers(tmp_path):
    (report,) = parse_bytes(tmp_path, "failure.eml", fixture("dmarc-failure-rfc6591.eml")).records
    assert report.original_message_id == "<offer-42@sender.example>"
    assert report.original_from == "Sender <news@sender.example>"
    assert report.original_subject == "May offers"


def test_failure_text_only_variant(tmp_path):
    outcome = parse_bytes(tmp_path, "text.eml", TEXT_ONLY_REPORT)
    assert outcome.kind == "dmarc-failure"
    (report,) = outcome.records
    assert report.text_only is True
    assert report.source_ip == "198.51.100.23"
    assert report.original_mail_from == "spoof@elsewhere.example"
    assert report.auth_failure == "spf"
    assert report.authentication_results == "mx.receiver.example; spf=fail smtp.mailfrom=elsewhere.example"


def test_failure_to_json_has_contract_fields(tmp_path):
    (report,) = parse_bytes(tmp_path, "failure.eml", fixture("dmarc-failure-rfc6591.eml")).records
    data = report.to_json()
    for field in ("feedback_type", "source_ip", "reported_domain", "original_rcpt_to", "original_mail_from", "auth_failure"):
        assert data[field], field


def test_failure_sniff_leaves_abuse_reports():
    assert dmarc_failure.sniff(ABUSE_REPORT, "complaint.eml") == 0
    assert dmarc_failure.sniff(fixture("dmarc-failure-rfc6591.eml"), "failure.eml") == 90


def test_failure_email_without_report_rejected(tmp_path):
    message = b"From: a@example.com\nSubject: hello\n\nJust a note.\n"
    outcome = parse_bytes(tmp_path, "note.eml", message, kind="dmarc-failure")
    assert outcome.records == []
    assert "no failure report found" in str(outcome.error)
