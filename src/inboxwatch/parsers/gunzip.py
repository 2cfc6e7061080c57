"""A gzip reader that accepts what real report senders and log rotators write.

`gzip.GzipFile` raises on bytes after the last member, which some mail
systems append to report attachments. This reader reads every member
(RFC 1952 section 2.2: a gzip file is a series of members), skips the NUL
padding some writers add, and stops with a warning at other trailing bytes.
It imposes no size limit: callers bound what they read.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from typing import BinaryIO

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"

# Compressed bytes read from the underlying stream at a time.
CHUNK_BYTES = 64 * 1024

# Maximum decompressed bytes returned by one read. Deflate expands zeros
# about 1000:1 (1 GiB compresses to about 1 MiB at level 9), so one
# compressed chunk could otherwise become 64 MiB at once, in addition to the
# buffer the caller reads into.
OUTPUT_CHUNK_BYTES = 256 * 1024

# zlib window bits that select the gzip header and trailer (zlib manual, inflateInit2).
GZIP_WBITS = 16 + zlib.MAX_WBITS


class TruncatedGzipError(EOFError):
    """The gzip data ends before its end-of-stream marker."""


class GunzipReader(io.RawIOBase):
    """A read-only raw stream of the decompressed bytes of `raw`.

    Raises `TruncatedGzipError` when the data ends mid-member and
    `gzip.BadGzipFile` when it is not valid gzip. `trailing_bytes` is true
    once bytes that are neither a gzip member nor padding were found and
    ignored after the data. They are logged as a warning unless
    `log_trailing_bytes` is false, for callers that report them themselves.
    """

    def __init__(self, raw: BinaryIO, name: str = "<input>", log_trailing_bytes: bool = True) -> None:
        self._raw = raw
        self._name = name
        self._log_trailing_bytes = log_trailing_bytes
        self._decompressor = zlib.decompressobj(GZIP_WBITS)
        self._input = b""
        self._finished = False
        self.trailing_bytes = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        size = min(len(buffer), OUTPUT_CHUNK_BYTES)
        while not self._finished:
            if self._decompressor.eof:
                self._start_next_member()
                continue
            if not self._input:
                self._input = self._raw.read(CHUNK_BYTES)
                if not self._input:
                    raise TruncatedGzipError(
                        "truncated gzip: %s ends before the end-of-stream marker; the file is incomplete" % self._name
                    )
            try:
                output = self._decompressor.decompress(self._input, size)
            except zlib.error as exc:
                raise gzip.BadGzipFile("invalid gzip data in %s: %s" % (self._name, exc)) from None
            if self._decompressor.eof:
                self._input = self._decompressor.unused_data
            else:
                self._input = self._decompressor.unconsumed_tail
            if output:
                buffer[: len(output)] = output
                return len(output)
        return 0

    def _start_next_member(self) -> None:
        rest = self._input
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) >= len(GZIP_MAGIC):
                break
            more = self._raw.read(CHUNK_BYTES)
            if not more:
                break
            rest += more

        if not rest:
            self._finished = True
        elif rest.startswith(GZIP_MAGIC):
            self._decompressor = zlib.decompressobj(GZIP_WBITS)
            self._input = rest
        else:
            self.trailing_bytes = True
            self._finished = True
            if self._log_trailing_bytes:
                log.warning("ignored bytes after the gzip data in %s", self._name)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_gunzip(raw: BinaryIO, name: str = "<input>") -> io.BufferedReader:
    """Wrap a binary stream of gzip data as a buffered stream of its contents."""
    return io.BufferedReader(GunzipReader(raw, name))


def gunzip_bytes(data: bytes, limit: int, name: str = "<input>") -> tuple[bytes, bool]:
    """Decompress `data`, returning the contents and whether trailing bytes were ignored.

    Raises `ValueError` when the contents exceed `limit` bytes. The contents
    are decompressed in chunks of OUTPUT_CHUNK_BYTES into one buffer of
    `limit` + 1 bytes, so a decompression bomb costs about `limit` bytes of
    memory.
    """
    reader = GunzipReader(io.BytesIO(data), name, log_trailing_bytes=False)
    # BufferedReader.read(n) allocates the n-byte result once and has the
    # raw reader fill it in place.
    contents = io.BufferedReader(reader).read(limit + 1)
    if len(contents) > limit:
        raise ValueError("gzip data in %s expands to more than %d bytes" % (name, limit))
    return contents, reader.trailing_bytes
