"""Files, folders, gzip and standard input."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import SNIFF_BYTES, ParseContext, ParseOutcome, ParserSpec
from inboxwatch.parsers.gunzip import open_gunzip
from inboxwatch.parsers.jsoninput import sniff_json_head
from inboxwatch.parsers.registry import detect, get_parser

log = logging.getLogger(__name__)

STDIN = "-"
GZIP_MAGIC = b"\x1f\x8b"


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Yield each path, replacing a folder by the files under it in name order.

    Hidden files and folders are skipped: editors and rsync leave them.
    """
    for path in paths:
        if path != STDIN and os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield os.path.join(root, name)
        else:
            yield path


def open_input(path: str) -> BinaryIO:
    """Open a file or standard input for binary reading, gunzipping when needed.

    Raises `ParseError` naming the path when it cannot be opened.
    """
    if path == STDIN:
        raw: BinaryIO = sys.stdin.buffer
    else:
        try:
            raw = open(path, "rb")
        except OSError as exc:
            raise ParseError("cannot open: %s" % (exc.strerror or exc), source=path) from exc
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return open_gunzip(buffered, path)
    return buffered


def reference_time_for(path: str) -> datetime:
    """Return the time a log's yearless timestamps are anchored to: the file's mtime."""
    if path != STDIN:
        try:
            return datetime.fromtimestamp(os.stat(path).st_mtime, tz=timezone.utc)
        except OSError:
            pass
    return datetime.now(timezone.utc)


class PeekableStream(io.RawIOBase):
    """A read-only stream that replays the bytes already read for detection."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        # readinto fills the caller's buffer in place. read(len(buffer))
        # would allocate a second buffer of that size first, which doubles
        # the memory of a large read such as `containers.read_input`.
        return self._rest.readinto(buffer)


def choose_parser(head: bytes, name: str, kind: str | None) -> ParserSpec:
    if kind:
        try:
            return get_parser(kind)
        except KeyError as exc:
            raise ParseError(str(exc.args[0]), source=name) from None
    if not head.strip():
        raise ParseError("empty input: nothing to parse", source=name)
    spec = detect(head, name)
    if spec is None:
        if sniff_json_head(head):
            # A JSON body no ESP parser claims is most often a broken one, so the
            # error names where the JSON breaks rather than an unknown format.
            raise unrecognised_json_error(head, name)
        raise ParseError(
            "unrecognised format: not a known log, event payload or report; "
            "pass --kind to name the format",
            source=name,
        )
    return spec


def unrecognised_json_error(head: bytes, name: str) -> ParseError:
    try:
        json.loads(head.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        if len(head) < SNIFF_BYTES or exc.pos < len(head) - 1:
            return ParseError(
                "invalid JSON: %s (column %d); pass --kind to name the format if the body is complete"
                % (exc.msg, exc.colno),
                source=name,
                line=exc.lineno,
            )
    return ParseError(
        "unrecognised JSON payload: no known ESP's event fields (such as eventType, event, RecordType, msys); "
        "pass --kind to name the format",
        source=name,
    )


def open_for_parsing(path: str, kind: str | None = None) -> tuple[ParserSpec, BinaryIO]:
    """Open `path`, detect its format (unless `kind` names it) and return both."""
    stream = open_input(path)
    try:
        head = stream.read(SNIFF_BYTES)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        stream.close()
        raise ParseError("cannot read: %s" % exc, source=path) from exc
    try:
        spec = choose_parser(head, path, kind)
    except ParseError:
        stream.close()
        raise
    replay = io.BufferedReader(PeekableStream(head, stream))
    return spec, replay  # type: ignore[return-value]


def parse_path(path: str, kind: str | None = None, context: ParseContext | None = None) -> ParseOutcome:
    """Parse one input completely, collecting records and rejected items.

    A `ParseError` or a read failure is returned in the outcome, not raised.
    """
    try:
        spec, stream = open_for_parsing(path, kind)
    except ParseError as exc:
        return ParseOutcome(kind=kind or "unknown", error=exc)

    if context is None:
        context = ParseContext(source=path, reference_time=reference_time_for(path))
    outcome = ParseOutcome(kind=spec.kind)
    try:
        with stream:
            for item in spec.parse(stream, context):
                if isinstance(item, Rejected):
                    outcome.rejected.append(item)
                else:
                    outcome.records.append(item)
    except ParseError as exc:
        if exc.source is None:
            exc.source = path
        outcome.error = exc
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        outcome.error = ParseError("read failed: %s" % exc, source=path)
    if spec.other_kinds and outcome.records:
        outcome.kind = outcome.records[0].kind
    return outcome
