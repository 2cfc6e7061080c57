"""Complaint reports: RFC 5965 ARF, the Version 0.1 form, Microsoft JMRP and Apple unsubscribes."""

from __future__ import annotations

import io
from pathlib import Path

from inboxwatch.model.bounces import ComplaintRecord
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.bounce import parse, sniff

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"


def parse_fixture(name: str) -> list:
    return list(parse(io.BytesIO((FIXTURES / name).read_bytes()), ParseContext(source=name)))


def test_arf_version_1_fields():
    [record] = parse_fixture("arf-v1.eml")
    assert isinstance(record, ComplaintRecord)
    assert record.feedback_type == "abuse"
    assert record.version == "1"
    assert record.user_agent == "SomeGenerator/1.0"
    assert record.source_ip == "192.0.2.1"
    assert record.reported_domain == "sender.test"
    assert record.original_rcpt_to == "<user@isp.test>"
    assert record.original_mail_from == "<bounce+42@sender.test>"
    assert record.arrival_date == "Thu, 8 Mar 2026 14:00:00 EDT"


def test_arf_lists_every_original_recipient():
    data = (FIXTURES / "arf-v1.eml").read_bytes().replace(
        b"Original-Rcpt-To: <user@isp.test>\n", b"Original-Rcpt-To: <user@isp.test>\nOriginal-Rcpt-To: <other@isp.test>\n"
    )
    [record] = list(parse(io.BytesIO(data), ParseContext()))
    assert record.original_rcpt_to == "<user@isp.test>"
    assert record.original_recipients == ("<user@isp.test>", "<other@isp.test>")


def test_arf_ties_back_to_original_message():
    [record] = parse_fixture("arf-v1.eml")
    assert record.original_message_id == "<offer-43@sender.test>"
    assert record.campaign == "spring-sale"


def test_arf_json_kind_is_complaint():
    data = parse_fixture("arf-v1.eml")[0].to_json()
    assert data["kind"] == "complaint"
    assert data["feedback_type"] == "abuse"


def test_arf_version_01_base64_report_and_header_original():
    [record] = parse_fixture("arf-v01-base64.eml")
    assert record.version == "0.1"
    assert record.feedback_type == "abuse"
    assert record.original_rcpt_to == "user@yahoo.test"
    assert record.reported_domain == "bounce.sender.test"
    assert record.arrival_date == "Thu, 14 Dec 2023 17:16:15 +0100"
    assert record.original_message_id == "<yahoo-1@sender.test>"
    assert record.tenant == "acme"


def test_jmrp_report_without_arf_part():
    [record] = parse_fixture("jmrp.eml")
    assert record.feedback_type == "abuse"
    assert record.source_ip == "192.0.2.77"
    assert record.original_rcpt_to == "reader@hotmail.test"
    assert record.original_mail_from == "bounce@sender.test"
    assert record.reported_domain == "sender.test"
    assert record.original_message_id == "<jmrp-1@sender.test>"


def test_apple_unsubscribe_is_opt_out():
    data = (
        b"From: reader@icloud.test\nTo: list-unsubscribe-42@sender.test\nSubject: unsubscribe\n"
        b"X-Apple-Unsubscribe: true\nAuto-Submitted: auto-replied\n\n"
        b"Apple Mail sent this email to unsubscribe from the message.\n"
    )
    [record] = list(parse(io.BytesIO(data), ParseContext()))
    assert record.feedback_type == "opt-out"
    assert record.original_rcpt_to == "list-unsubscribe-42@sender.test"


def test_sniff_scores_feedback_report_high():
    assert sniff((FIXTURES / "arf-v1.eml").read_bytes(), "report.eml") == 90
