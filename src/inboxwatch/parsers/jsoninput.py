"""Helpers shared by the parsers of JSON event payloads."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError

# A webhook batch larger than this is not a single payload.
MAX_JSON_BYTES = 64 * 1024 * 1024


def load_json(stream: BinaryIO, source: str) -> Any:
    """Read and decode one JSON document, naming line and column when it is invalid."""
    data = stream.read(MAX_JSON_BYTES + 1)
    if len(data) > MAX_JSON_BYTES:
        raise ParseError("payload larger than %d bytes" % MAX_JSON_BYTES, source=source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("not UTF-8 text (invalid byte at offset %d)" % exc.start, source=source, offset=exc.start) from None
    if not text.strip():
        raise ParseError("empty payload", source=source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            "invalid JSON: %s (column %d)" % (exc.msg, exc.colno), source=source, line=exc.lineno, offset=exc.pos
        ) from None


def sniff_json_head(head: bytes) -> str:
    """Return the head as text with leading whitespace and BOM removed, or '' if it is not JSON-like."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if text not in (b"{", b"["):
        return ""
    return head.decode("utf-8", errors="replace")


def epoch_to_datetime(value: Any) -> datetime | None:
    """Convert Unix seconds or milliseconds (int, float or numeric string) to UTC.

    Values past the year 2286 in seconds are taken as milliseconds, since
    ESPs use both.
    """
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 1e10:
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def iso_to_datetime(value: Any) -> datetime | None:
    """Parse an ISO 8601 timestamp ('Z' or an offset; none means UTC)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
