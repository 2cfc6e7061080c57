"""UDP transport for the resolver: one socket per nameserver, replies matched by ID and question.

A blocklist run sends thousands of small queries, so the per-query cost
matters: queries are encoded here directly (header, question, EDNS OPT
record) rather than through `dns.message`, and replies are handed back as
bytes for `wire.read_reply` or dnspython to parse.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import dns.entropy

from inboxwatch.errors import CheckError

logger = logging.getLogger(__name__)

# The EDNS buffer size recommended by DNS Flag Day 2020, small enough to avoid IP fragmentation.
EDNS_PAYLOAD = 1232
# RFC 1035 section 2.3.4: labels of at most 63 octets, names of at most 255 in wire form.
MAX_LABEL_OCTETS = 63
MAX_NAME_OCTETS = 255
# Header flags with only RD (recursion desired) set, as a stub resolver sends them.
RD_FLAGS = 0x0100
# RFC 6891 section 6.1.2: an OPT record with the root owner name, type 41, the payload size as class.
OPT_RECORD = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)
CLASS_IN = 1
HEADER_OCTETS = 12
RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024


def encode_question(name: str, rdtype: int) -> bytes:
    """Encode the question section for `name` (text, ASCII) and the numeric record type."""
    text = name.rstrip(".")
    try:
        labels = text.encode("ascii").split(b".") if text else []
    except UnicodeEncodeError:
        raise CheckError("invalid DNS name %r: labels must be ASCII; encode internationalised names with IDNA first" % name) from None
    wire = bytearray()
    for label in labels:
        if not 0 < len(label) <= MAX_LABEL_OCTETS:
            raise CheckError("invalid DNS name %r: label %r must be 1 to %d ASCII characters" % (name, label.decode(), MAX_LABEL_OCTETS))
        wire.append(len(label))
        wire += label
    wire.append(0)
    if len(wire) > MAX_NAME_OCTETS:
        raise CheckError("invalid DNS name %r: longer than %d octets" % (name, MAX_NAME_OCTETS))
    return bytes(wire) + struct.pack("!HH", rdtype, CLASS_IN)


def encode_query(query_id: int, question: bytes) -> bytes:
    header = struct.pack("!HHHHHH", query_id, RD_FLAGS, 1, 0, 0, 1)
    return header + question + OPT_RECORD


class UdpChannel(asyncio.DatagramProtocol):
    """One UDP socket connected to one nameserver.

    The socket is connected, so the kernel drops datagrams from other
    addresses. A reply counts only when its ID and question match a pending
    query, which keeps a late reply to one query from answering another.
    """

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.loop = asyncio.get_running_loop()
        self.pending: dict[int, tuple[bytes, asyncio.Future]] = {}

    @classmethod
    async def open(cls, host: str, port: int) -> UdpChannel:
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_datagram_endpoint(cls, remote_addr=(host, port))
        return channel

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # The default buffer (often 208 KiB) holds only about a hundred
            # small datagrams, because the kernel charges each its full
            # buffer overhead; replies beyond that are dropped and time out.
            # The kernel caps the request at net.core.rmem_max.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)

    def usable_on(self, loop: asyncio.AbstractEventLoop) -> bool:
        return self.loop is loop and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None and not self.loop.is_closed():
            self.transport.close()

    async def exchange(self, question: bytes, timeout: float) -> bytes:
        """Send one query and return the reply's wire form; raises `asyncio.TimeoutError` or `OSError`."""
        query_id = dns.entropy.random_16()
        while query_id in self.pending:
            query_id = dns.entropy.random_16()
        future = self.loop.create_future()
        self.pending[query_id] = (question.lower(), future)
        timer = self.loop.call_later(timeout, self._expire, future)
        try:
            self.transport.sendto(encode_query(query_id, question))
            return await future
        finally:
            timer.cancel()
            self.pending.pop(query_id, None)

    @staticmethod
    def _expire(future: asyncio.Future) -> None:
        if not future.done():
            future.set_exception(asyncio.TimeoutError())

    def datagram_received(self, data: bytes, address) -> None:
        if len(data) < HEADER_OCTETS:
            return
        (query_id,) = struct.unpack_from("!H", data)
        entry = self.pending.get(query_id)
        if entry is None:
            return
        question, future = entry
        # Compared without case, because names are case-insensitive and not every server echoes the case sent.
        if data[HEADER_OCTETS : HEADER_OCTETS + len(question)].lower() != question or future.done():
            return
        future.set_result(data)

    def error_received(self, error: OSError) -> None:
        # An ICMP error (such as port unreachable) cannot be tied to one
        # query, so every pending query fails with it.
        for _, future in self.pending.values():
            if not future.done():
                future.set_exception(error)
