"""The parser interface shared by every input format."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from datetime import datetime, timezone, tzinfo
from typing import Any, BinaryIO, Protocol

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected

# Bytes of an input that detection looks at.
SNIFF_BYTES = 64 * 1024

# The longest raw excerpt a Rejected item keeps.
MAX_REJECTED_RAW = 4096

# The maximum line length, in characters, that `text_lines` yields whole.
# Log lines are far shorter, so the cut only matters for input without line breaks.
MAX_LINE_CHARS = 1 << 20


class Record(Protocol):
    """Anything a parser yields besides `Rejected`: it can render itself as JSON."""

    def to_json(self) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True)
class ParseContext:
    """What a parser may need to know beyond the bytes.

    `reference_time` anchors timestamps that carry no year (RFC 3164 syslog):
    the parser picks the year that puts each line at or before it, allowing
    for a log that spans New Year. `timezone` applies to timestamps without a
    zone. `local_addresses` are the mail server's own IP addresses, so that a
    hop to a signer or filter on them is recognised as internal.
    """

    source: str = "<input>"
    reference_time: datetime = dataclasses.field(default_factory=lambda: datetime.now(timezone.utc))
    timezone: tzinfo = timezone.utc
    local_addresses: frozenset[str] = frozenset()
    tenant: str | None = None


ParseFunction = Callable[[BinaryIO, ParseContext], Iterator[Any]]
SniffFunction = Callable[[bytes, str], int]


@dataclasses.dataclass(frozen=True)
class ParserSpec:
    """One input format.

    `sniff(head, name)` scores how likely the first bytes of an input (up to
    `SNIFF_BYTES`) and its file name are this format, from 0 (not at all) to
    100 (certain). `parse(stream, context)` yields records and `Rejected`
    items; it raises `ParseError` only when the whole input is unreadable.
    `other_kinds` lists further kinds the parser can detect, as an email may
    be a bounce or a complaint. Such a parser's records carry a `kind`, and
    the input is reported as the kind of its first record.
    `yields_events_only` marks a streaming log parser whose items are only
    delivery events and `Rejected` items, which ingest may run in a child
    process on a large input.
    """

    kind: str
    description: str
    sniff: SniffFunction
    parse: ParseFunction
    other_kinds: tuple[str, ...] = ()
    yields_events_only: bool = False


@dataclasses.dataclass
class ParseOutcome:
    """Everything one input produced."""

    kind: str
    records: list[Any] = dataclasses.field(default_factory=list)
    rejected: list[Rejected] = dataclasses.field(default_factory=list)
    error: ParseError | None = None


def text_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) from a binary stream, decoding UTF-8 leniently.

    Log files mix encodings in practice; an undecodable byte becomes U+FFFD
    instead of stopping the read. A line longer than MAX_LINE_CHARS is cut
    there and the rest of it skipped, so an input without line breaks (a
    decompressed run of zeros) cannot fill memory.
    """
    reader = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
    try:
        number = 0
        while line := reader.readline(MAX_LINE_CHARS):
            number += 1
            if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
                skip_rest_of_line(reader)
            yield number, line.rstrip("\r\n")
    finally:
        reader.detach()


def skip_rest_of_line(reader: io.TextIOWrapper) -> None:
    while (rest := reader.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
        pass


def reject(message: str, raw: str | bytes = "", **where: Any) -> Rejected:
    """Build a `Rejected` item with a bounded excerpt of the raw input."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return Rejected(error=ParseError(message, **where), raw=raw[:MAX_REJECTED_RAW])
