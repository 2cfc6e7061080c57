"""Format detection across all registered parsers."""

from __future__ import annotations

import logging

import pytest

from inboxwatch.parsers import registry
from inboxwatch.parsers.base import ParserSpec

POSTFIX_LINE = b"Mar  1 08:00:00 mx1 postfix/smtp[123]: 4BQ2xY1abc: to=<a@b.example>, relay=mx.b.example[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)\n"


def broken_sniff(head: bytes, name: str) -> int:
    raise ValueError("deliberately broken sniff")


BROKEN_PARSER = ParserSpec(kind="broken-test", description="a parser whose sniff raises", sniff=broken_sniff, parse=None)  # type: ignore[arg-type]


@pytest.fixture
def broken_parser_first(monkeypatch):
    known = registry.all_parsers()
    monkeypatch.setattr(registry, "all_parsers", lambda: (BROKEN_PARSER,) + known)
    monkeypatch.setattr(registry, "_failed_sniffs", set())


def test_detect_failing_sniff_scores_zero(broken_parser_first):
    spec = registry.detect(POSTFIX_LINE, "mail.log")
    assert spec is not None
    assert spec.kind == "postfix"


def test_detect_failing_sniff_logged_once(broken_parser_first, caplog):
    caplog.set_level(logging.DEBUG, logger="inboxwatch.parsers.registry")
    registry.detect(POSTFIX_LINE, "mail.log")
    registry.detect(POSTFIX_LINE, "mail.log")
    messages = [record for record in caplog.records if "broken-test" in record.getMessage()]
    assert len(messages) == 1
    assert messages[0].levelno == logging.DEBUG
    assert messages[0].exc_info is not None


def test_detect_binary_head_with_lone_carriage_return():
    # The first "line" of compressed data often contains a lone \r.
    head = b"\x00\x01,3/1/2026 8:00 AM\rmore,bytes\x9c\n" + bytes(range(256))
    assert registry.detect(head, "report.bin") is None
