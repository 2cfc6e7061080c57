"""Splitting emails into MIME parts without the standard library's multipart parser."""

from __future__ import annotations

import email.parser
import email.policy

import pytest

from inboxwatch.parsers.containers import decode_body
from inboxwatch.parsers.mimesplit import split_multipart, walk_email

NESTED = (
    b"From: reporter@receiver.example\r\n"
    b"To: dmarc@sender.example\r\n"
    b"Subject: Report domain: sender.example\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
    b"preamble, ignored\r\n"
    b"--outer\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"--outer-not-a-delimiter because the boundary starts a longer line\r\n"
    b"--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html\r\n"
    b"\r\n"
    b"<p>hi</p>\r\n"
    b"--inner--\r\n"
    b"--outer \t\r\n"
    b"Content-Type: application/gzip\r\n"
    b'Content-Disposition: attachment; filename="report.xml.gz"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"H4sIAAAAAAAA/7Oxr8jNUShLLSrOzM+zVTJU0lFQUlVVUlZRAgA=\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: someone@elsewhere.example\r\n"
    b"Subject: forwarded\r\n"
    b"\r\n"
    b"forwarded body\r\n"
    b"--outer--\r\n"
    b"epilogue, ignored\r\n"
)


def leaves(data: bytes) -> list[tuple[str, bytes]]:
    return [(part.get_content_type(), decode_body(part)) for part, leaf in walk_email(data, 6) if leaf]


def stdlib_leaves(data: bytes) -> list[tuple[str, bytes]]:
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    return [(part.get_content_type(), decode_body(part)) for part in message.walk() if not part.is_multipart()]


def test_walk_email_nested_parts_match_stdlib():
    assert leaves(NESTED) == stdlib_leaves(NESTED)


def test_walk_email_order_matches_stdlib_walk():
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(NESTED)
    assert [part.get_content_type() for part, _ in walk_email(NESTED, 6)] == [part.get_content_type() for part in message.walk()]


def test_walk_email_longer_line_not_a_delimiter():
    (first, *_) = leaves(NESTED)
    assert first == ("text/plain", b"--outer-not-a-delimiter because the boundary starts a longer line")


def test_walk_email_multipart_without_boundary_is_leaf():
    data = b"From: a@b.example\nContent-Type: multipart/mixed\n\nno parts here\n"
    assert leaves(data) == [("multipart/mixed", b"no parts here\n")]


def test_walk_email_depth_limit_makes_leaf():
    assert [part.get_content_type() for part, leaf in walk_email(NESTED, 0) if leaf] == ["multipart/mixed"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("--b\r\none\r\n--b\r\ntwo\r\n--b--\r\n", ["one", "two"], id="crlf"),
        pytest.param("--b\none\n--b\ntwo\n--b--\n", ["one", "two"], id="lf"),
        pytest.param("--b\none\n--b\ntwo, never closed\n", ["one", "two, never closed\n"], id="unclosed"),
        pytest.param("--b\n\n--b--", [""], id="empty-part"),
    ],
)
def test_split_multipart_bodies(body, expected):
    assert split_multipart(body, "b") == expected


def test_split_multipart_boundary_absent():
    assert split_multipart("no delimiter\n", "b") is None
