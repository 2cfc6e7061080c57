"""The cheap checks that `sniff` functions run before their costly ones."""

from __future__ import annotations

import re

import pytest

from inboxwatch.parsers import bounce, exim, postfix, reportkinds
from inboxwatch.parsers.containers import header_block
from inboxwatch.parsers.sniffing import head_facts

POSTFIX_LINE = b"Mar  1 08:00:00 mx1 postfix/smtp[123]: 4BQ2xY1abc: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, dsn=2.0.0, status=sent (250 ok)\n"
EXIM_LINE = b"2024-03-01 08:00:00 1rABCD-000123-AB => a@b.example R=dnslookup T=remote_smtp H=mx.b.example [192.0.2.1]\n"

# The single pattern `reportkinds.may_carry_report` replaces, kept here to check that they agree.
COMBINED_CARRIER = re.compile(
    rb"content-type:[ \t]*(?:application/|text/xml)|name=[ \t]*\"?[^\";\r\n]*\.(?:xml|gz|gzip|zip|json)\b"
    rb"|<(?:[\w.-]+:)?feedback[\s>]|\"organization-name\""
)


@pytest.mark.parametrize(
    "data",
    [b"", b"a", b"a\n\nb", b"a\r\n\r\nb", b"a\n\r\nb", b"a\r\n\nb", b"a\r\r\n\nb", b"a\r\n\r\n\nb", b"\n\nb", b"a\nb\n"],
    ids=repr,
)
def test_header_block_matches_regex_split(data):
    assert header_block(data) == re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]


def test_head_facts_skips_bom_and_whitespace():
    facts = head_facts(b"\xef\xbb\xbf \r\n{\"event\": \"bounce\"}")
    assert facts.first_byte == b"{"
    assert not facts.is_email
    assert not facts.may_be_log


def test_head_facts_email_is_not_log():
    facts = head_facts(b"From: a@b.example\r\nSubject: Hello\r\n\r\nbody\r\n")
    assert facts.is_email
    assert not facts.may_be_log


def test_log_sniffs_accept_logs():
    assert postfix.sniff(POSTFIX_LINE, "mail.log") > 0
    assert exim.sniff(EXIM_LINE, "mainlog") > 0


def test_log_sniffs_reject_email_quoting_log_lines():
    email = b"From: root@mx1.example\nTo: admin@example.com\nSubject: Log summary\n\n" + POSTFIX_LINE + EXIM_LINE
    assert postfix.sniff(email, "") == 0
    assert exim.sniff(email, "") == 0
    assert bounce.sniff(email, "") == 30


@pytest.mark.parametrize(
    "text",
    [
        b"content-type: application/gzip; name=report.xml.gz",
        b"content-type:\tapplication/zip",
        b"content-type: text/xml",
        b"content-disposition: attachment; filename=\"example.com!example.org!1.xml\"",
        b"name=report.json",
        b"<feedback>",
        b"<ns:feedback xmlns:ns=\"urn:example\">",
        b"{\"organization-name\": \"example\"}",
        b"content-type: text/plain",
        b"name=report.pdf",
        b"feedback-type: abuse",
        b"content-type:\n application/gzip",
    ],
    ids=repr,
)
def test_may_carry_report_matches_combined_pattern(text):
    lowered = (b"from: a@b.example\nsubject: x\n\n" + text).lower()
    assert reportkinds.may_carry_report(lowered) == (COMBINED_CARRIER.search(lowered) is not None)
