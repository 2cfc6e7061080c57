"""Lenient reading of email messages: headers, parts and their text.

Returned mail is often damaged (cut off, wrong charsets, 8-bit headers), so
every helper here degrades to a best-effort value instead of raising. The
stdlib `email` package with the `compat32` policy does the MIME work because
it is the most tolerant of broken input.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.parser
import email.policy
import email.utils
import logging
import re
import weakref
from collections.abc import Iterator
from email.message import Message

log = logging.getLogger(__name__)

# Charsets that mail software labels wrongly, mapped to the codec that reads them.
CHARSET_ALIASES = {
    "x-unknown": "latin-1",
    "unknown-8bit": "latin-1",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}

JAPANESE_CODECS = ("iso2022_jp_ext", "euc_jp", "cp932")

# The boundary parameter of a Content-Type field, quoted or not (RFC 2046 section 5.1.1).
BOUNDARY_PARAMETER = re.compile(rb"boundary=[ \t]*\"?([^\"\s;]+)", re.IGNORECASE)
ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]")


def parse_message(data: bytes) -> Message:
    """Parse raw message bytes; a leading mbox `From ` line becomes the unixfrom.

    Multipart bodies whose boundary the parser could not see are repaired
    in place (see `repair_multipart`).
    """
    data = unindent_delimiters(data.lstrip(b"\r\n"))
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    repair_tree(message)
    return message


def unindent_delimiters(data: bytes) -> bytes:
    """Move MIME delimiter lines that some MTAs indent back to the start of their line.

    RFC 2046 section 5.1.1 requires a delimiter at the start of a line, so
    the parser would take an indented one for body text and lose the parts
    behind it (old Sendmail DSNs indent the delimiter before the
    delivery-status part).
    """
    if b"\n --" not in data and b"\n\t--" not in data:
        return data
    for boundary in set(BOUNDARY_PARAMETER.findall(data)):
        indented = re.compile(rb"\n[ \t]+(--" + re.escape(boundary) + rb")")
        data = indented.sub(rb"\n\1", data)
    return data


def repair_tree(message: Message) -> None:
    """Re-split, in place, every part of `message` that is multipart in fact but not in the parse."""
    if not message.is_multipart() and (
        message.get_content_maintype() == "multipart" or (message.get("Content-Type") is None and has_mime_parts(message))
    ):
        repaired = repair_multipart(message)
        if repaired is not message:
            message.set_payload(repaired.get_payload())
    if message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                repair_tree(part)


def parse_headers(text: str) -> Message:
    """Parse a block of header lines, such as a text/rfc822-headers part."""
    return email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text.lstrip("\r\n"))


def codec_for(charset: str | None) -> str:
    """Return a Python codec name for a MIME charset, `utf-8` when unknown."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode `data` in `charset`, falling back to UTF-8 and then Latin-1.

    Japanese mail software often labels EUC-JP or Shift_JIS text as
    ISO-2022-JP (and the reverse), so a Japanese label that does not fit
    is retried with the other Japanese encodings first.
    """
    codec = codec_for(charset)
    candidates = [codec]
    if codec in JAPANESE_CODECS:
        candidates += [name for name in JAPANESE_CODECS if name != codec]
    for codec in candidates + ["utf-8"]:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def header_text(message: Message, name: str) -> str | None:
    """Return a header's value with RFC 2047 words decoded, or None when absent."""
    value = message.get(name)
    if value is None:
        return None
    return decode_header_value(value)


def decode_header_value(value) -> str:
    """Decode RFC 2047 encoded words; raw 8-bit bytes are read as UTF-8 or Latin-1."""
    if isinstance(value, email.header.Header):
        chunks = email.header.decode_header(value)
    else:
        text = str(value)
        try:
            chunks = email.header.decode_header(text)
        except (ValueError, LookupError):
            return text.strip()
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            parts.append(decode_bytes(chunk, charset))
        else:
            parts.append(chunk)
    # decode_header drops the space between an encoded word and plain text.
    joined = "".join(parts) if any(isinstance(chunk, bytes) for chunk, _ in chunks) else str(value)
    return " ".join(joined.split())


def part_text(part: Message) -> str:
    """Return a leaf part's body as text, undoing base64 and quoted-printable."""
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, list):
            return "\n".join(item.as_string() if isinstance(item, Message) else str(item) for item in raw)
        return raw or ""
    return decode_bytes(payload, part.get_content_charset())


def walk_leaves(message: Message) -> Iterator[Message]:
    """Yield the leaf parts in order, without entering message/* parts."""
    if message.is_multipart():
        payload = message.get_payload()
        if not isinstance(payload, list):
            return
        for part in payload:
            if not isinstance(part, Message):
                continue
            if part.get_content_maintype() == "message":
                # message/rfc822, delivery-status and feedback-report parts
                # are leaves here, although the parser gives them sub-messages.
                yield part
                continue
            yield from walk_leaves(part)
    else:
        yield message


def typed_leaves(message: Message) -> tuple[tuple[str, Message], ...]:
    """Return (content type, part) for each part that `walk_leaves` yields, computed once per message.

    Readers of one bounce look at its parts a dozen times, and the tree does
    not change after `parse_message` repaired it, so the list is cached for
    as long as the message lives.
    """
    cached = _typed_leaves_cache.get(message)
    if cached is None:
        cached = tuple((part.get_content_type(), part) for part in walk_leaves(message))
        _typed_leaves_cache[message] = cached
    return cached


_typed_leaves_cache: weakref.WeakKeyDictionary[Message, tuple[tuple[str, Message], ...]] = weakref.WeakKeyDictionary()


def has_mime_parts(message: Message) -> bool:
    """True when a body without Content-Type is laid out as MIME parts.

    Some Sendmail versions send "This is a MIME-encapsulated message" with
    delimiter lines and typed parts but no Content-Type field.
    """
    body = message.get_payload()
    if not isinstance(body, str):
        return False
    # The delimiter must open the body (after at most a preamble line), so a
    # notice that merely quotes a MIME message is left alone.
    opening = [line for line in body.splitlines() if line.strip()][:3]
    delimiters = [line.strip() for line in opening if re.match(r"^--\S+\s*$", line)]
    if not delimiters:
        return False
    return body.count(delimiters[0]) >= 2 and re.search(r"^Content-Type:", body, re.MULTILINE | re.IGNORECASE) is not None


def repair_multipart(part: Message) -> Message:
    """Re-parse a multipart part whose boundary parameter was lost.

    Some MTAs fold the Content-Type field without indenting the `boundary=`
    line, so the parser finds no boundary and keeps the body as one string.
    The boundary is recovered from that stray line or from the first
    delimiter line in the body. Without one, the part is returned as it was.
    """
    body = part.get_payload()
    if not isinstance(body, str):
        return part
    boundary = None
    stray = part.get("boundary")
    if stray:
        boundary = str(stray).strip().strip('"')
    else:
        delimiter = re.search(r"^--(\S+?)\s*$", body, re.MULTILINE)
        if delimiter:
            boundary = delimiter.group(1)
    if not boundary:
        return part
    content_type = part.get_content_type() if part.get_content_maintype() == "multipart" else "multipart/mixed"
    header = 'Content-Type: %s; boundary="%s"\n\n' % (content_type, boundary)
    return email.parser.Parser(policy=email.policy.compat32).parsestr(header + body)


def first_address(value: str | None) -> str | None:
    """Return the first email address in `value`, without angle brackets."""
    if not value:
        return None
    match = ADDRESS.search(value)
    return match.group(0).strip(".") if match else None


def all_addresses(text: str) -> list[str]:
    return [match.group(0).strip(".") for match in ADDRESS.finditer(text)]
