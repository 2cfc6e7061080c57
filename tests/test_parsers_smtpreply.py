"""Reply code and enhanced status extraction from ESP reply text."""

from __future__ import annotations

import pytest

from inboxwatch.parsers.smtpreply import bounce_fields, reply_fields

REPLY_CASES = [
    # (text, expected smtp_code, expected enhanced_status)
    ("smtp; 550 5.1.1 user unknown", 550, "5.1.1"),
    ("smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound", 550, "5.1.1"),
    ("250 ok:  Message 64111812 accepted", 250, None),
    (" RecipientError: 550 5.5.0 mailbox unavailable", 550, "5.5.0"),
    ("550 RecipientError: 550 5.1.1 <a@example.org>: rejected", 550, "5.1.1"),
    ("Email was deferred: [IPs were throttled by recipient server]", None, None),
    ("retry in 450 seconds", None, None),
    ("Bounced Address", None, None),
]


@pytest.mark.parametrize("text, code, status", REPLY_CASES, ids=[case[0][:30] for case in REPLY_CASES])
def test_reply_fields_read_text(text, code, status):
    fields = reply_fields(text)
    assert fields["smtp_code"] == code
    assert fields["enhanced_status"] == status


def test_reply_fields_prefer_given_codes():
    fields = reply_fields("550 5.1.1 user unknown", code="421", status="4.7.0")
    assert fields["smtp_code"] == 421
    assert fields["enhanced_status"] == "4.7.0"


@pytest.mark.parametrize("code", ["607", "abc", 99, None], ids=["mailgun-607", "text", "too-small", "none"])
def test_reply_fields_ignore_non_smtp_code(code):
    assert reply_fields(None, code=code)["smtp_code"] is None


def test_reply_fields_empty_text_is_none():
    assert reply_fields("   ")["diagnostic"] is None


def test_bounce_fields_esp_verdict_wins():
    fields = bounce_fields("550 5.1.1 user unknown", hard=False)
    assert fields["hard"] is False
    assert fields["bounce_reason"] == "userunknown"


def test_bounce_fields_classifier_without_verdict():
    assert bounce_fields("550 5.1.1 user unknown")["hard"] is True
