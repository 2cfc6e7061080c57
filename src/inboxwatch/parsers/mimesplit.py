"""Split an email into its MIME parts without the standard library's multipart parser.

`email.feedparser` compiles a regular expression for every multipart
boundary it meets. Boundaries are unique per message, so the pattern cache
never helps. The compilation took about 0.9 ms per message on the loaded
2-vCPU machine of docs/benchmarks.md, most of the cost of parsing a report
email. This module finds delimiter lines with string searches instead and
parses only the header block of each part with `email.parser` (policy
`compat32`), so the parts are ordinary `email.message.Message` objects.

The split follows RFC 2046 section 5.1.1: a delimiter line is "--" and the
boundary, then "--" for the last one, then optional spaces or tabs. The
line break before a delimiter belongs to the delimiter, and the preamble
and epilogue are dropped. A multipart entity without a boundary parameter,
or whose boundary never appears, is kept as one leaf. Bodies are text
decoded from ASCII with surrogate escapes, as with `compat32`, so
`body.encode("ascii", "surrogateescape")` returns the original bytes.

NOTE: the result differs from `email.feedparser` in small ways that do not
change which attachments are found: the body of a message inside a
`message/rfc822` part may keep one more trailing line break, and blank
blocks of a `message/delivery-status` part are not counted as entities, so
later part numbers can differ by one. Over the 672 emails of the test
fixtures and public bounce, ARF, DMARC and TLS report samples compared,
the report attachments were identical.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Iterator
from email.message import Message

# The blank line that ends a header block.
HEADER_END = re.compile(r"\r?\n\r?\n")

# Space and tab, the only characters allowed between a boundary and the end of its line.
LINEAR_WHITESPACE = " \t"

_header_parser = email.parser.HeaderParser(policy=email.policy.compat32)


def walk_email(data: bytes, max_depth: int) -> Iterator[tuple[Message, bool]]:
    """Yield every entity of an email in `Message.walk` order, with whether it is a leaf.

    Multipart entities and `message/*` entities count as containers, and
    their contents are walked down to `max_depth` levels. Deeper contents
    are yielded as leaves.
    """
    yield from _walk(data.decode("ascii", errors="surrogateescape"), "text/plain", 0, max_depth)


def _walk(text: str, default_type: str, depth: int, max_depth: int) -> Iterator[tuple[Message, bool]]:
    entity = parse_entity(text, default_type)
    if depth < max_depth:
        maintype = entity.get_content_maintype()
        if maintype == "multipart":
            boundary = entity.get_boundary()
            bodies = split_multipart(entity.get_payload(), boundary) if boundary else None
            if bodies is not None:
                yield entity, False
                child_type = "message/rfc822" if entity.get_content_subtype() == "digest" else "text/plain"
                for body in bodies:
                    yield from _walk(body, child_type, depth + 1, max_depth)
                return
        elif entity.get_content_type() == "message/delivery-status":
            # Like `email.feedparser`, read each block of fields (RFC 3464
            # section 2.1) as an entity of its own, with an empty body.
            yield entity, False
            for block in HEADER_END.split(entity.get_payload()):
                if block.strip():
                    yield _parse_headers_only(block, "text/plain"), True
            return
        elif maintype == "message":
            yield entity, False
            yield from _walk(entity.get_payload(), "text/plain", depth + 1, max_depth)
            return
    yield entity, True


def parse_entity(text: str, default_type: str = "text/plain") -> Message:
    """Parse a header block and keep the rest of `text` as the body, unparsed.

    Text without a blank line after its headers, or whose header block
    holds a line that is not a header field, goes through the standard
    parser (headers only), which decides where the body starts.
    """
    if text.startswith(("\r\n", "\n")):
        headers, body = "", text[2 if text.startswith("\r\n") else 1 :]
    else:
        end = HEADER_END.search(text)
        if end is None:
            return _parse_headers_only(text, default_type)
        headers, body = text[: end.start() + 1], text[end.end() :]
    entity = _header_parser.parsestr(headers)
    if entity.get_payload() or entity.defects:
        return _parse_headers_only(text, default_type)
    entity.set_default_type(default_type)
    entity.set_payload(body)
    return entity


def _parse_headers_only(text: str, default_type: str) -> Message:
    entity = _header_parser.parsestr(text)
    entity.set_default_type(default_type)
    return entity


def split_multipart(body: str, boundary: str) -> list[str] | None:
    """Return the bodies of the parts between the delimiter lines, or None when there is no delimiter.

    A multipart body without a closing delimiter ends with its last part.
    """
    delimiter = "--" + boundary
    found = _find_delimiter(body, delimiter, 0)
    if found is None:
        return None
    parts = []
    _, start, closing = found
    while not closing:
        found = _find_delimiter(body, delimiter, start)
        if found is None:
            parts.append(body[start:])
            break
        part_end, next_start, closing = found
        parts.append(body[start:part_end])
        start = next_start
    return parts


def _find_delimiter(body: str, delimiter: str, position: int) -> tuple[int, int, bool] | None:
    """Find the next delimiter line at or after `position`.

    Returns where the part before it ends (before the line break that
    belongs to the delimiter), where the next part starts (after the
    delimiter line), and whether it is the closing delimiter.
    """
    while True:
        index = body.find(delimiter, position)
        if index < 0:
            return None
        position = index + 1
        if index > 0 and body[index - 1] not in "\r\n":
            continue
        after = index + len(delimiter)
        closing = body.startswith("--", after)
        if closing:
            after += 2
        line_end = after
        while line_end < len(body) and body[line_end] in LINEAR_WHITESPACE:
            line_end += 1
        if line_end < len(body) and body[line_end] not in "\r\n":
            # The boundary is only the start of a longer line.
            continue
        next_start = line_end + 2 if body.startswith("\r\n", line_end) else line_end + 1
        part_end = index
        if body.startswith("\r\n", index - 2):
            part_end = index - 2
        elif index > 0:
            part_end = index - 1
        return part_end, min(next_start, len(body)), closing
