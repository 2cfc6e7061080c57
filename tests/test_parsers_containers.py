"""Unpacking gzip, zip and email containers, with size limits."""

from __future__ import annotations

import base64
import gzip
import io
import zipfile

import pytest

from inboxwatch.errors import ParseError
from inboxwatch.parsers.containers import MAX_EXPANDED_BYTES, peek, read_input, unpack
from inboxwatch.sources.files import open_input
from report_support import MINIMAL_AGGREGATE, gzip_bytes, report_email, zip_bytes


def contents(data: bytes, **options) -> list[bytes]:
    return [document.content for document in unpack(data, "test", **options).documents]


def test_unpack_plain_document_unchanged():
    assert contents(MINIMAL_AGGREGATE) == [MINIMAL_AGGREGATE]


def test_unpack_gzip_inside_gzip():
    assert contents(gzip_bytes(gzip_bytes(MINIMAL_AGGREGATE))) == [MINIMAL_AGGREGATE]


def test_unpack_gzip_trailing_bytes_warns():
    unpacked = unpack(gzip_bytes(MINIMAL_AGGREGATE) + b"\r\n--boundary--\r\n", "test")
    assert [document.content for document in unpacked.documents] == [MINIMAL_AGGREGATE]
    assert len(unpacked.warnings) == 1
    assert "ignored bytes after the end of gzip data" in unpacked.warnings[0]


def test_unpack_gzip_nul_padding_without_warning():
    unpacked = unpack(gzip_bytes(MINIMAL_AGGREGATE) + b"\0" * 512, "test")
    assert [document.content for document in unpacked.documents] == [MINIMAL_AGGREGATE]
    assert unpacked.warnings == []


def test_unpack_gzip_several_members_joined():
    data = gzip_bytes(MINIMAL_AGGREGATE[:100]) + gzip_bytes(MINIMAL_AGGREGATE[100:])
    assert contents(data) == [MINIMAL_AGGREGATE]


def test_unpack_truncated_gzip_raises():
    data = gzip_bytes(MINIMAL_AGGREGATE * 20)
    with pytest.raises(ParseError, match="truncated gzip") as raised:
        unpack(data[: len(data) // 2], "cut.xml.gz")
    assert raised.value.source == "cut.xml.gz"


def test_unpack_gzip_bomb_raises():
    bomb = gzip_bytes(b"\0" * (4 * 1024 * 1024))
    assert len(bomb) < 8 * 1024
    with pytest.raises(ParseError, match="decompression bomb"):
        unpack(bomb, "bomb.gz", budget=1024 * 1024)


def test_unpack_zip_entry_in_folder():
    data = zip_bytes(("reports/", b""), ("reports/day1.xml", MINIMAL_AGGREGATE))
    documents = unpack(data, "test").documents
    assert [document.path for document in documents] == ["reports/day1.xml"]
    assert documents[0].content == MINIMAL_AGGREGATE


def test_unpack_zip_entry_without_name():
    documents = unpack(zip_bytes(("", MINIMAL_AGGREGATE)), "test").documents
    assert [document.path for document in documents] == ["entry 1"]
    assert documents[0].content == MINIMAL_AGGREGATE


def test_unpack_zip_several_entries():
    data = zip_bytes(("readme.txt", b"see the report"), ("report.xml", MINIMAL_AGGREGATE))
    assert contents(data) == [b"see the report", MINIMAL_AGGREGATE]


def test_unpack_zip_bomb_raises():
    # About 70 MB of zeros compress to well under 100 kB, past the default limit.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.xml", "w", force_zip64=True) as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(MAX_EXPANDED_BYTES // len(block) + 6):
                entry.write(block)
    bomb = buffer.getvalue()
    assert len(bomb) < 200 * 1024
    with pytest.raises(ParseError, match="zip entry bomb.xml expands beyond the limit"):
        unpack(bomb, "bomb.zip")


def test_unpack_invalid_zip_raises():
    with pytest.raises(ParseError, match="invalid zip archive"):
        unpack(b"PK\x03\x04" + b"\x00" * 40, "broken.zip")


def test_unpack_email_attachment_any_media_type():
    message = report_email(gzip_bytes(MINIMAL_AGGREGATE), "application/octet-stream", "report.xml.gz")
    assert MINIMAL_AGGREGATE in contents(message)


def test_unpack_email_whole_body_base64_gzip():
    encoded = base64.encodebytes(gzip_bytes(MINIMAL_AGGREGATE) + b"\r\n").decode("ascii")
    message = (
        "From: reports@receiver.example\n"
        "Subject: Report Domain: sender.example\n"
        "MIME-Version: 1.0\n"
        "Content-Type: application/gzip\n"
        "Content-Transfer-Encoding: base64\n"
        "\n" + encoded
    ).encode("ascii")
    assert contents(message) == [MINIMAL_AGGREGATE]


def test_unpack_email_zip_attachment():
    message = report_email(zip_bytes(("report.xml", MINIMAL_AGGREGATE)), "application/zip", "report.zip")
    documents = unpack(message, "test").documents
    assert documents[-1].path == "report.zip/report.xml"
    assert documents[-1].content == MINIMAL_AGGREGATE


def test_unpack_nesting_too_deep_raises():
    data = MINIMAL_AGGREGATE
    for _ in range(10):
        data = gzip_bytes(data)
    with pytest.raises(ParseError, match="nested more than"):
        unpack(data, "deep.gz")


def test_peek_truncated_zip_head():
    data = zip_bytes(("folder/", b""), ("folder/report.xml", MINIMAL_AGGREGATE * 50))
    heads = [head for _, head in peek(data[:600])]
    assert any(head.startswith(b"<?xml") for head in heads)


def test_peek_email_with_cut_base64():
    message = report_email(gzip_bytes(MINIMAL_AGGREGATE * 50), "application/gzip", "report.xml.gz")
    heads = [head for _, head in peek(message[: len(message) // 2])]
    assert any(head.startswith(b"<?xml") for head in heads)


def test_read_input_over_limit_raises():
    with pytest.raises(ParseError, match="input larger than 10 bytes"):
        read_input(io.BytesIO(b"x" * 11), "big", limit=10)


def test_open_input_gzip_trailing_bytes(tmp_path):
    path = tmp_path / "report.xml.gz"
    path.write_bytes(gzip_bytes(MINIMAL_AGGREGATE) + b"trailing junk")
    with open_input(str(path)) as stream:
        assert stream.read() == MINIMAL_AGGREGATE


def test_open_input_truncated_gzip_raises(tmp_path):
    data = gzip.compress(MINIMAL_AGGREGATE * 20)
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(data[: len(data) // 2])
    with open_input(str(path)) as stream:
        with pytest.raises(EOFError, match="truncated gzip"):
            stream.read()
