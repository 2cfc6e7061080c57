"""Unpack the containers reports arrive in: gzip, zip and email messages, nested.

Reporters send DMARC and TLS reports as plain files, as gzip (sometimes gzip
inside gzip, sometimes with bytes after the data) or as zip (entries inside
folders, entries with no name, several entries). They also attach them to
emails under any MIME type, or send them as an email's whole body. `unpack`
turns any of these into the list of documents inside, and `peek` does the
same on a truncated head for format detection.

Every expansion counts against one budget per input (`MAX_EXPANDED_BYTES`),
so a decompression bomb is rejected after at most that many bytes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import io
import quopri
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from email.message import Message
from typing import BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.parsers.gunzip import GZIP_MAGIC, GZIP_WBITS, TruncatedGzipError, gunzip_bytes
from inboxwatch.parsers.mimesplit import walk_email

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

MIB = 1024 * 1024

# Maximum size of all the decompressed contents of one input together. The
# aggregate reports of large receivers for one day are a few MB of XML.
MAX_EXPANDED_BYTES = 64 * MIB

# Bytes `read_input` reads at a time.
READ_CHUNK_BYTES = 1 * MIB

# Maximum nesting depth of containers (an email containing a zip containing a gzip is 3).
MAX_NESTING = 6

# Maximum number of entries in one zip archive. Reporters send one.
MAX_ZIP_ENTRIES = 64

# Bytes of each nested document that `peek` decompresses for detection.
PEEK_BYTES = 16 * 1024

# Emails of at most this many bytes have their parts cached, so that an
# input this small is split once although both format detection (`peek` on
# its first 64 KiB) and parsing (`unpack`) read its parts.
CACHED_EMAIL_BYTES = 64 * 1024

# A header field line (RFC 5322 section 2.2: printable ASCII except colon, then a colon).
HEADER_LINE = re.compile(rb"[!-9;-~]+:")
EMAIL_HEADER_NAMES = re.compile(
    rb"^(?:received|from|to|subject|date|message-id|mime-version|content-type|return-path|delivered-to|dkim-signature)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# The line end that starts a blank line. Its literal "\n" prefix lets `re`
# jump from line end to line end, where `\r?\n\r?\n` is tried at every byte.
BLANK_LINE = re.compile(rb"\n\r?\n")

# The local file header of a zip entry (APPNOTE.TXT section 4.3.7), up to the name.
ZIP_LOCAL_HEADER = struct.Struct("<4sHHHHHLLLHH")
ZIP_FLAG_DATA_DESCRIPTOR = 0x08
ZIP_STORED = 0
ZIP_DEFLATED = 8


@dataclasses.dataclass(frozen=True, slots=True)
class Document:
    """One file found inside an input.

    `path` is its location: container names joined by '/', such as
    ``attachment report.zip/report.xml``, or '' for the input itself.
    `content_type` is the MIME type of the email part it came from, if any.
    """

    path: str
    content: bytes
    content_type: str | None = None


@dataclasses.dataclass
class Unpacked:
    """The documents inside an input and what was noticed while unpacking."""

    documents: list[Document]
    warnings: list[str]


class _Unpacker:
    def __init__(self, source: str, budget: int) -> None:
        self.source = source
        self.budget = budget
        self.limit = budget
        self.documents: list[Document] = []
        self.warnings: list[str] = []

    def unpack(self, data: bytes, path: str, depth: int, content_type: str | None, allow_email: bool) -> None:
        if depth > MAX_NESTING:
            raise ParseError(
                "containers nested more than %d deep at %s: not a report" % (MAX_NESTING, path or "the input"),
                source=self.source,
            )
        if data.startswith(GZIP_MAGIC):
            self.unpack(self.gunzip(data, path), path, depth + 1, content_type, allow_email=False)
        elif data.startswith(ZIP_MAGIC) or data.startswith(EMPTY_ZIP_MAGIC):
            for name, content in self.unzip(data, path):
                self.unpack(content, name, depth + 1, content_type, allow_email=False)
        elif allow_email and looks_like_email(data):
            for name, part_type, content in email_parts(data, path):
                self.unpack(content, name, depth + 1, part_type, allow_email=False)
        else:
            self.documents.append(Document(path, data, content_type))

    def spend(self, size: int, what: str) -> None:
        if size > self.budget:
            raise self.bomb_error(what)
        self.budget -= size

    def bomb_error(self, what: str) -> ParseError:
        return ParseError(
            "%s expands beyond the limit of %s for one input: rejected as a possible "
            "decompression bomb" % (what, size_text(self.limit)),
            source=self.source,
        )

    def gunzip(self, data: bytes, path: str) -> bytes:
        what = "gzip data at %s" % (path or "the start of the input")
        try:
            contents, trailing = gunzip_bytes(data, self.budget, self.source)
        except ValueError:
            raise self.bomb_error(what) from None
        except TruncatedGzipError:
            raise ParseError(
                "truncated gzip: %s ends before its end-of-stream marker; the file is incomplete" % what,
                source=self.source,
            ) from None
        except OSError as exc:
            raise ParseError("invalid gzip data: %s: %s" % (what, exc), source=self.source) from None
        self.spend(len(contents), what)
        if trailing:
            self.warnings.append("ignored bytes after the end of %s" % what)
        return contents

    def unzip(self, data: bytes, path: str) -> Iterator[tuple[str, bytes]]:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, OSError) as exc:
            raise ParseError("invalid zip archive%s: %s" % (_at(path), exc), source=self.source) from None
        entries = [info for info in archive.infolist() if not info.filename.endswith("/")]
        if len(entries) > MAX_ZIP_ENTRIES:
            raise ParseError(
                "zip archive%s has %d entries, more than the %d a report archive may have"
                % (_at(path), len(entries), MAX_ZIP_ENTRIES),
                source=self.source,
            )
        for number, info in enumerate(entries, start=1):
            # Some reporters write an entry with an empty file name.
            name = info.filename or "entry %d" % number
            entry_path = "%s/%s" % (path, name) if path else name
            what = "zip entry %s" % entry_path
            self.spend(info.file_size, what)
            try:
                with archive.open(info) as handle:
                    content = handle.read(info.file_size + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as exc:
                raise ParseError("cannot read %s: %s" % (what, exc), source=self.source) from None
            if len(content) > info.file_size:
                # The central directory understated the size, as crafted bombs do.
                raise self.bomb_error(what)
            yield entry_path, content


def _at(path: str) -> str:
    return " at %s" % path if path else ""


def unpack(data: bytes, source: str = "<input>", budget: int = MAX_EXPANDED_BYTES) -> Unpacked:
    """Return every document inside `data`, unwrapping gzip, zip and email containers.

    Raises `ParseError` for a truncated or invalid gzip or zip, nesting
    deeper than `MAX_NESTING`, or contents larger than `budget` bytes.
    """
    unpacker = _Unpacker(source, budget)
    unpacker.unpack(data, "", 0, None, allow_email=True)
    return Unpacked(unpacker.documents, unpacker.warnings)


def looks_like_email(data: bytes) -> bool:
    """Return whether `data` starts with an RFC 5322 header block (after an optional mbox 'From ' line)."""
    head = data[:4096].lstrip(b"\r\n")
    if head.startswith(b"From "):
        head = head.split(b"\n", 1)[1] if b"\n" in head else b""
    if not HEADER_LINE.match(head):
        return False
    # Most emails start with one of these names, and testing the first line
    # alone skips the slower case-insensitive search of the whole block.
    if EMAIL_HEADER_NAMES.match(head) is not None:
        return True
    return EMAIL_HEADER_NAMES.search(header_block(head)) is not None


def header_block(data: bytes) -> bytes:
    """Return `data` up to its first blank line, or all of it when there is none.

    The result equals `re.split(rb"\\r?\\n\\r?\\n", data, maxsplit=1)[0]`, which is
    several times slower because its pattern has no literal prefix.
    """
    match = BLANK_LINE.search(data)
    if match is None:
        return data
    end = match.start()
    # The split pattern also takes the "\r" of a CRLF line end before this "\n".
    if end > 0 and data[end - 1 : end] == b"\r":
        end -= 1
    return data[:end]


def email_parts(data: bytes, path: str) -> Iterator[tuple[str, str, bytes]]:
    """Yield (path, MIME type, decoded body) of each leaf part of an email.

    A message that is not multipart yields its own body, so a report sent
    as the whole body of an email is found too.
    """
    leaves = _cached_email_leaves(data) if len(data) <= CACHED_EMAIL_BYTES else _email_leaves(data)
    for name, content_type, body in leaves:
        yield ("%s/%s" % (path, name) if path else name), content_type, body


@functools.lru_cache(maxsize=2)
def _cached_email_leaves(data: bytes) -> tuple[tuple[str, str, bytes], ...]:
    return _email_leaves(data)


def _email_leaves(data: bytes) -> tuple[tuple[str, str, bytes], ...]:
    leaves = []
    for number, (part, leaf) in enumerate(walk_email(data, MAX_NESTING), start=1):
        if leaf:
            leaves.append((part.get_filename() or "part %d" % number, part.get_content_type(), decode_body(part)))
    return tuple(leaves)


def decode_body(part: Message) -> bytes:
    """Return the body of a leaf part with its Content-Transfer-Encoding undone.

    Base64 is decoded leniently: whitespace and stray characters are dropped
    and a body cut short is decoded as far as it goes.
    """
    raw = part.get_payload(decode=False)
    if not isinstance(raw, str):
        return b""
    encoding = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if encoding == "base64":
        return lenient_base64(raw)
    if encoding == "quoted-printable":
        return quopri.decodestring(raw.encode("ascii", errors="replace"))
    return raw.encode("utf-8", errors="surrogateescape")


def lenient_base64(text: str) -> bytes:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    # Padding was removed with the other stray characters. A final group of
    # 2 or 3 characters is complete once padded, but 1 character carries no whole byte.
    leftover = len(cleaned) % 4
    if leftover == 1:
        cleaned = cleaned[:-1]
    elif leftover:
        cleaned += "=" * (4 - leftover)
    try:
        return base64.b64decode(cleaned)
    except binascii.Error:
        return b""


def peek(head: bytes) -> Iterator[tuple[str | None, bytes]]:
    """Yield (MIME type, first bytes) of the documents a truncated input appears to hold.

    Best effort and never raises: detection reads only the first bytes of an
    input, so compressed data and base64 are decoded as far as the head goes.
    """
    yield from _peek(head, None, 0, allow_email=True)


def _peek(data: bytes, content_type: str | None, depth: int, allow_email: bool) -> Iterator[tuple[str | None, bytes]]:
    if depth > MAX_NESTING:
        return
    if data.startswith(GZIP_MAGIC):
        inner = _inflate_head(data, GZIP_WBITS)
        yield from _peek(inner, content_type, depth + 1, allow_email=False)
    elif data.startswith(ZIP_MAGIC):
        for inner in _zip_heads(data):
            yield from _peek(inner, content_type, depth + 1, allow_email=False)
    elif allow_email and looks_like_email(data):
        for _, part_type, body in email_parts(data, ""):
            yield from _peek(body, part_type, depth + 1, allow_email=False)
    else:
        yield content_type, data


def _inflate_head(data: bytes, wbits: int) -> bytes:
    try:
        return zlib.decompressobj(wbits).decompress(data, PEEK_BYTES)
    except zlib.error:
        return b""


def _zip_heads(data: bytes) -> Iterator[bytes]:
    """Yield the first bytes of each zip entry whose local header lies in `data`."""
    offset = 0
    while data.startswith(ZIP_MAGIC, offset) and offset + ZIP_LOCAL_HEADER.size <= len(data):
        fields = ZIP_LOCAL_HEADER.unpack_from(data, offset)
        flags, method, compressed_size, name_length, extra_length = fields[2], fields[3], fields[7], fields[9], fields[10]
        start = offset + ZIP_LOCAL_HEADER.size + name_length + extra_length
        name = data[offset + ZIP_LOCAL_HEADER.size : offset + ZIP_LOCAL_HEADER.size + name_length]
        sized = not flags & ZIP_FLAG_DATA_DESCRIPTOR
        if not name.endswith(b"/") or not sized:
            body = data[start : start + compressed_size] if sized else data[start:]
            if method == ZIP_DEFLATED:
                yield _inflate_head(body, -zlib.MAX_WBITS)
            elif method == ZIP_STORED:
                yield body[:PEEK_BYTES]
        if not sized:
            return
        offset = start + compressed_size


def read_input(stream: BinaryIO, source: str, limit: int = MAX_EXPANDED_BYTES) -> bytes:
    """Read a whole input, rejecting one larger than `limit` bytes.

    The stream may already be gunzipped by the file source, so the limit
    also bounds a gzip bomb handed over as a plain stream. It is read in
    chunks of READ_CHUNK_BYTES, because one read of `limit` bytes makes each
    stream wrapper in between allocate a buffer of that size.
    """
    chunks = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ParseError(
            "input larger than %s, the limit for one input (counted after gzip decompression): "
            "rejected as a possible decompression bomb" % size_text(limit),
            source=source,
        )
    return b"".join(chunks)


def size_text(size: int) -> str:
    """Return a byte count as "64 MiB" when it is a whole number of MiB, else as "1234 bytes"."""
    if size >= MIB and size % MIB == 0:
        return "%d MiB" % (size // MIB)
    return "%d bytes" % size
