"""A gzip bomb is rejected with memory near the size limit, and the error names the file and the limit."""

import io
import tracemalloc
import zlib

import pytest

from inboxwatch.errors import ParseError
from inboxwatch.parsers.containers import read_input, unpack
from inboxwatch.parsers.gunzip import gunzip_bytes, open_gunzip
from inboxwatch.sources.files import PeekableStream, parse_path

MIB = 1024 * 1024
LIMIT = 16 * MIB


def gzip_of_zeros(size: int) -> bytes:
    """Return gzip data of `size` zero bytes, compressed about 1000:1."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MIB
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    parts.append(compressor.flush())
    return b"".join(parts)


BOMB = gzip_of_zeros(16 * LIMIT)


def peak_bytes(function, *args, **kwargs) -> int:
    """Return the peak of memory Python allocated while `function` ran, which must raise ParseError or ValueError."""
    tracemalloc.start()
    try:
        with pytest.raises((ParseError, ValueError)):
            function(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gunzip_bytes_bomb_memory_near_limit():
    peak = peak_bytes(gunzip_bytes, BOMB, LIMIT, "bomb.gz")

    assert peak < LIMIT + 2 * MIB


def test_unpack_bomb_error_names_file_and_limit():
    with pytest.raises(ParseError) as caught:
        unpack(BOMB, "reports/bomb.xml.gz", budget=LIMIT)

    message = str(caught.value)
    assert message.startswith("reports/bomb.xml.gz: ")
    assert "limit of 16 MiB" in message


def test_read_input_gzip_stream_memory_near_limit():
    # The stream chain the file source builds: gunzip, replay of the detection head, buffering.
    def read_bomb():
        stream = io.BufferedReader(PeekableStream(b"", open_gunzip(io.BytesIO(BOMB), "bomb.xml.gz")))
        read_input(stream, "bomb.xml.gz", limit=LIMIT)

    peak = peak_bytes(read_bomb)

    assert peak < LIMIT + 2 * MIB


def test_read_input_bomb_error_names_file_and_limit():
    stream = open_gunzip(io.BytesIO(BOMB), "bomb.xml.gz")

    with pytest.raises(ParseError) as caught:
        read_input(stream, "bomb.xml.gz", limit=LIMIT)

    message = str(caught.value)
    assert message.startswith("bomb.xml.gz: ")
    assert "larger than 16 MiB, the limit for one input" in message
    assert "decompression bomb" in message


def test_parse_path_gzip_bomb_rejected(tmp_path):
    path = tmp_path / "report.xml.gz"
    # The head looks like a DMARC report, so detection picks the DMARC parser and its size limit applies.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = b'<?xml version="1.0"?><feedback><report_metadata><org_name>x</org_name>'
    parts = [compressor.compress(head)] + [compressor.compress(b"A" * MIB) for _ in range(80)]
    path.write_bytes(b"".join(parts) + compressor.flush())

    outcome = parse_path(str(path))

    assert outcome.records == []
    assert str(path) in str(outcome.error)
    assert "larger than 64 MiB, the limit for one input" in str(outcome.error)
