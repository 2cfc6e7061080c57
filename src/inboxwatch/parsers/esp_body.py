"""Reading an ESP event body or event file: one JSON document, JSON Lines, or form fields.

A webhook request carries one JSON document (an event or an array of events)
or form fields. Event files exported by Amazon Data Firehose, SES event
publishing and similar pipelines are JSON Lines: one document per line, and
no limit on the number of lines. JSON Lines input is read one line at a
time, so a bad line becomes a `Rejected` item naming the line and the other
lines are still read. One JSON document is decoded whole and may be at most
`MAX_JSON_BYTES`, which is also the limit for one line of JSON Lines.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext, reject
from inboxwatch.parsers.jsoninput import MAX_JSON_BYTES, load_json
from inboxwatch.parsers.webhook import FORM_BODY, ItemReader, read_batch

# Bytes that may precede the first JSON value: a UTF-8 byte order mark and whitespace.
LEADING_BYTES = b"\xef\xbb\xbf \t\r\n"

# Bytes read at a time while skipping the rest of an over-long line.
SKIP_CHUNK_BYTES = 1024 * 1024

# Turns a decoded document into the event or event array that `read_batch`
# reads, such as Mailgun's Events API page `{"items": [...]}`.
Unwrap = Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of the input: its 1-based number, the byte offset of its start, and its bytes.

    `data` is None when the line is longer than `MAX_JSON_BYTES`. `size`
    is the line's length in bytes, newline included.
    """

    number: int
    offset: int
    data: bytes | None
    size: int


def read_body(
    stream: BinaryIO,
    context: ParseContext,
    read_item: ItemReader,
    unwrap: Unwrap | None = None,
) -> Iterator[DeliveryEvent | Rejected]:
    """Read an ESP body or event file, yielding the events `read_item` reads and a `Rejected` item per bad event.

    Form fields become a dict of field name to last value. An input whose
    first non-blank line is a complete JSON value is read as JSON Lines.
    Any other input is decoded as one JSON document, or as JSON documents
    that follow each other, and raises `ParseError` with the line and column
    when it is not valid JSON. The exception is JSON Lines whose first line
    is broken, recognised by `looks_like_json_lines` and read as JSON Lines.
    """
    unwrap = unwrap or (lambda payload: payload)
    lines = split_lines(stream)
    head = read_head(lines, context.source)
    first = head[-1].data
    if first is not None and is_form(first):
        data = read_rest(head, stream)
        if len(data) > MAX_JSON_BYTES:
            raise too_large("form body", context.source)
        yield from read_batch(unwrap(decode_form(data)), context, read_item)
    elif first is None or is_complete_json(first):
        yield from read_json_lines(itertools.chain(head, lines), context, read_item, unwrap)
    else:
        yield from read_document(read_rest(head, stream), stream, context, read_item, unwrap)


def read_head(lines: Iterator[Line], source: str) -> list[Line]:
    """Return the lines up to and including the first non-blank one, raising `ParseError` when there is none."""
    head = []
    for line in lines:
        head.append(line)
        if line.data is None or line.data.strip(LEADING_BYTES):
            return head
    raise ParseError("empty payload", source=source)


def read_document(
    data: bytes,
    rest: BinaryIO,
    context: ParseContext,
    read_item: ItemReader,
    unwrap: Unwrap,
) -> Iterator[DeliveryEvent | Rejected]:
    """Read `data`, the input's first bytes, as JSON documents, or as JSON Lines continued in `rest`."""
    payloads = decode_documents(data, context.source)
    if payloads is None:
        # JSON Lines with a broken first line: read again from the input's start.
        restarted = split_lines(io.BufferedReader(ConcatenatedStream(data, rest)))
        yield from read_json_lines(restarted, context, read_item, unwrap)
        return
    for payload in payloads:
        yield from read_batch(unwrap(payload), context, read_item)


def decode_documents(data: bytes, source: str) -> list[Any] | None:
    """Decode one JSON document, or documents that follow each other, or return None for JSON Lines.

    Raises `ParseError` with the line and column for invalid JSON, and when
    `data` is larger than `MAX_JSON_BYTES`.
    """
    if len(data) > MAX_JSON_BYTES:
        if looks_like_json_lines(data):
            return None
        raise too_large("JSON document", source)
    try:
        return [load_json(io.BytesIO(data), source)]
    except ParseError as exc:
        if exc.message.startswith("invalid JSON: Extra data"):
            return load_json_sequence(data, source)
        if looks_like_json_lines(data):
            return None
        raise


def too_large(input_name: str, source: str) -> ParseError:
    return ParseError(
        "%s larger than %d bytes, the limit for one document; "
        "split it, or write one event per line (JSON Lines), which has no limit on the number of lines"
        % (input_name, MAX_JSON_BYTES),
        source=source,
    )


def read_rest(head: list[Line], stream: BinaryIO) -> bytes:
    """Return the lines read so far and the rest of the input, up to one byte more than `MAX_JSON_BYTES`."""
    data = b"".join(line.data or b"" for line in head)
    return data + stream.read(max(0, MAX_JSON_BYTES + 1 - len(data)))


def split_lines(stream: BinaryIO) -> Iterator[Line]:
    """Yield the input's lines. A line longer than `MAX_JSON_BYTES` is skipped and yielded with `data` None."""
    number = 1
    offset = 0
    while True:
        data = stream.readline(MAX_JSON_BYTES + 1)
        if not data:
            return
        size = len(data)
        if size > MAX_JSON_BYTES and not data.endswith(b"\n"):
            size += skip_rest_of_line(stream)
            yield Line(number, offset, None, size)
        else:
            yield Line(number, offset, data, size)
        number += 1
        offset += size


def skip_rest_of_line(stream: BinaryIO) -> int:
    skipped = 0
    while True:
        chunk = stream.readline(SKIP_CHUNK_BYTES)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def read_json_lines(
    lines: Iterable[Line],
    context: ParseContext,
    read_item: ItemReader,
    unwrap: Unwrap,
) -> Iterator[DeliveryEvent | Rejected]:
    """Read each non-blank line as one JSON document. A line that cannot be read becomes a `Rejected` item."""
    for line in lines:
        yield from read_json_line(line, context, read_item, unwrap)


def read_json_line(
    line: Line,
    context: ParseContext,
    read_item: ItemReader,
    unwrap: Unwrap,
) -> Iterator[DeliveryEvent | Rejected]:
    where = {"source": context.source, "line": line.number, "offset": line.offset}
    if line.data is None:
        message = "line of %d bytes is larger than %d bytes, the limit for one line" % (line.size, MAX_JSON_BYTES)
        yield reject(message, **where)
        return
    if not line.data.strip(LEADING_BYTES):
        return
    try:
        payload = unwrap(decode_line(line.data))
    except ParseError as exc:
        yield reject(exc.message, line.data.rstrip(b"\r\n"), field=exc.field, **where)
        return
    for item in read_batch(payload, context, read_item):
        if isinstance(item, Rejected) and item.error.line is None:
            item.error.line = line.number
            item.error.offset = line.offset
        yield item


def decode_line(data: bytes) -> Any:
    """Decode one line as a JSON value, raising `ParseError` with the column when it is invalid."""
    try:
        # Without its line end, a line cut inside a string reads as unterminated.
        text = data.rstrip(b"\r\n").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("not UTF-8 text (invalid byte at column %d)" % (exc.start + 1)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError("invalid JSON: %s (column %d)" % (exc.msg, exc.colno)) from None


def is_form(line: bytes) -> bool:
    start = line.lstrip(LEADING_BYTES)
    return start[:1] not in (b"{", b"[") and FORM_BODY.match(start) is not None


def is_complete_json(data: bytes) -> bool:
    try:
        decode_line(data)
    except ParseError:
        return False
    return True


def looks_like_json_lines(data: bytes) -> bool:
    """Return True when the input starts with an object and its second non-blank line is a complete JSON object.

    This distinguishes JSON Lines whose first line is broken from one JSON
    document spread over several lines, whose second line is rarely valid on its own.
    """
    lines = (line for line in io.BytesIO(data) if line.strip(LEADING_BYTES))
    first = next(lines, b"")
    second = next(lines, b"")
    if not first.lstrip(LEADING_BYTES).startswith(b"{"):
        return False
    try:
        return isinstance(decode_line(second), dict)
    except ParseError:
        return False


def decode_form(data: bytes) -> dict[str, str]:
    text = data.decode("utf-8", errors="replace").strip()
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def load_json_sequence(data: bytes, source: str) -> list[Any]:
    """Decode JSON documents that follow each other, with or without newlines between them."""
    text = data.decode("utf-8-sig", errors="replace")
    decoder = json.JSONDecoder()
    documents = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ParseError(
                "invalid JSON: %s (column %d)" % (exc.msg, exc.colno), source=source, line=exc.lineno, offset=exc.pos
            ) from None
        documents.append(document)


class ConcatenatedStream(io.RawIOBase):
    """A read-only stream of `head` followed by the rest of `tail`."""

    def __init__(self, head: bytes, tail: BinaryIO) -> None:
        super().__init__()
        self._head = io.BytesIO(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._head.read(len(buffer)) or self._tail.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
