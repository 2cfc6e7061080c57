"""Line reading shared by the line-based parsers: long lines are cut, never held whole."""

import io
import tracemalloc
from datetime import datetime, timezone

from inboxwatch.parsers import base, exim
from inboxwatch.parsers.base import ParseContext, text_lines

EXIM_HEAD = (
    b"2024-05-06 07:08:09 10HmaX-000000005vi-0000 <= news@shop.example H=app.shop.example [198.51.100.7] S=2345\n"
    b"2024-05-06 07:08:10 10HmaX-000000005vi-0000 => alice@gmail.example R=dnslookup T=remote_smtp "
    b'H=mx.gmail.example [192.0.2.10] C="250 2.0.0 OK"\n'
)


def test_text_lines_cuts_overlong_line(monkeypatch):
    monkeypatch.setattr(base, "MAX_LINE_CHARS", 10)
    data = b"short\n" + b"x" * 35 + b"\nafter\r\nlast"
    assert list(text_lines(io.BytesIO(data))) == [(1, "short"), (2, "x" * 10), (3, "after"), (4, "last")]


def test_text_lines_line_of_exact_limit_kept(monkeypatch):
    monkeypatch.setattr(base, "MAX_LINE_CHARS", 5)
    assert list(text_lines(io.BytesIO(b"12345\nnext\n"))) == [(1, "12345"), (2, "next")]


def test_exim_log_without_line_breaks_stays_small():
    # 32 MiB of zeros after two real lines: one endless line, read in bounded pieces.
    stream = io.BytesIO(EXIM_HEAD + bytes(32 << 20))
    context = ParseContext(source="mainlog", reference_time=datetime(2024, 5, 7, tzinfo=timezone.utc))
    tracemalloc.start()
    try:
        items = list(exim.parse(stream, context))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [item.recipient for item in items if hasattr(item, "recipient")] == ["alice@gmail.example"]
    assert peak < 16 << 20
