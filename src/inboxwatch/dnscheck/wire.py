"""A minimal reader of DNS replies for A, AAAA and TXT queries, the bulk of blocklist traffic.

Parsing each reply with `dns.message.from_wire` was the largest client cost
in the loopback blocklist benchmark, so replies to these three types are
read here. Anything unexpected returns None and the caller parses the reply
with dnspython instead.
"""

from __future__ import annotations

import socket
import struct

# RFC 1035 section 4.1.1: the header is six 16-bit fields.
HEADER = struct.Struct("!6H")
# RFC 1035 section 4.1.3: type, class, TTL and RDLENGTH follow a record's owner name.
RECORD_FIXED = struct.Struct("!HHIH")
TYPE_A, TYPE_SOA, TYPE_TXT, TYPE_AAAA = 1, 6, 16, 28
FAST_TYPES = frozenset({TYPE_A, TYPE_AAAA, TYPE_TXT})
TRUNCATED_FLAG = 0x0200
RCODE_MASK = 0x000F
POINTER_MASK = 0xC0


class MalformedReply(ValueError):
    pass


def skip_name(data: bytes, position: int) -> int:
    """Return the offset just past the name at `position`; a compression pointer ends the name."""
    while True:
        if position >= len(data):
            raise MalformedReply("name runs past the end of the message")
        length = data[position]
        if length & POINTER_MASK == POINTER_MASK:
            return position + 2
        if length & POINTER_MASK:
            raise MalformedReply("unknown label type")
        position += 1 + length
        if length == 0:
            return position


def read_records(data: bytes, position: int, count: int) -> tuple[list[tuple[int, int, bytes]], int]:
    records = []
    for _ in range(count):
        position = skip_name(data, position)
        if position + RECORD_FIXED.size > len(data):
            raise MalformedReply("record header runs past the end of the message")
        rdtype, _, ttl, length = RECORD_FIXED.unpack_from(data, position)
        position += RECORD_FIXED.size
        if position + length > len(data):
            raise MalformedReply("record data runs past the end of the message")
        records.append((rdtype, ttl, data[position : position + length]))
        position += length
    return records, position


def text_of(rdtype: int, rdata: bytes) -> str:
    if rdtype == TYPE_A and len(rdata) == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rdtype == TYPE_AAAA and len(rdata) == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rdtype == TYPE_TXT:
        strings, position = [], 0
        while position < len(rdata):
            length = rdata[position]
            strings.append(rdata[position + 1 : position + 1 + length])
            position += 1 + length
        # RFC 7208 section 3.3: the strings of one record are joined without spaces.
        return b"".join(strings).decode("utf-8", errors="replace")
    raise MalformedReply("record data of %d bytes does not fit type %d" % (len(rdata), rdtype))


def read_reply(data: bytes, rdtype: int) -> tuple[int, bool, list[str], int, int] | None:
    """Read (rcode, truncated, records as text, answer TTL, negative TTL), or None to use dnspython."""
    if rdtype not in FAST_TYPES or len(data) < HEADER.size:
        return None
    try:
        _, flags, questions, answers, authorities, _ = HEADER.unpack_from(data)
        position = HEADER.size
        for _ in range(questions):
            position = skip_name(data, position) + 4
        answer_records, position = read_records(data, position, answers)
        authority_records, _ = read_records(data, position, authorities)
        found = [(ttl, text_of(record_type, rdata)) for record_type, ttl, rdata in answer_records if record_type == rdtype]
    except (MalformedReply, IndexError, struct.error):
        return None

    # RFC 2308 section 5: a negative answer lives for the lesser of the SOA TTL and its MINIMUM field.
    negative_ttl = 0
    for record_type, ttl, rdata in authority_records:
        if record_type == TYPE_SOA and len(rdata) >= 4:
            negative_ttl = min(ttl, struct.unpack("!I", rdata[-4:])[0])
    answer_ttl = min((ttl for ttl, _ in found), default=0)
    return flags & RCODE_MASK, bool(flags & TRUNCATED_FLAG), [text for _, text in found], answer_ttl, negative_ttl
