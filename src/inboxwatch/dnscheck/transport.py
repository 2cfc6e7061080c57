"""UDP transport for the resolver: one socket per nameserver, replies matched by ID and question.

A blocklist run sends thousands of small queries, so the per-query cost
matters: queries are encoded here directly (header, question, EDNS OPT
record) rather than through `dns.message`, and replies are handed back as
bytes for `wire.read_reply` or dnspython to parse.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct

from inboxwatch.errors import CheckError

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


class UdpChannel:
    """One connected UDP socket to one nameserver, shared by all queries to it.

    The socket is read directly rather than through asyncio's datagram
    transport, which hands over one datagram per pass of the event loop:
    under load every reply then cost a whole pass. Here each readiness
    callback drains every queued reply. Timeouts are kept as deadlines and
    expired by one timer per channel, rather than by a timer per query.

    The socket is connected, so the kernel drops datagrams from other
    addresses. A reply counts only when its ID and question match a pending
    query, which keeps a late reply to one query from answering another.
    """

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.loop = loop
        # Query ID -> (question in lower case, future, deadline on the loop's clock).
        self.pending: dict[int, tuple[bytes, asyncio.Future, float]] = {}
        self.sweeper: asyncio.TimerHandle | None = None
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int) -> UdpChannel:
        """Open a channel to `host` and `port`; raises `OSError` when the address cannot be used."""
        loop = asyncio.get_running_loop()
        family, _, _, _, address = (await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM))[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            # The default buffer (often 208 KiB) holds only about a hundred
            # small datagrams, because the kernel charges each its full
            # buffer overhead. Replies beyond that are dropped and time out.
            # The kernel caps the requested size at net.core.rmem_max.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        channel = cls(sock, loop)
        loop.add_reader(sock.fileno(), channel._drain)
        return channel

    def usable_on(self, loop: asyncio.AbstractEventLoop) -> bool:
        return self.loop is loop and not self.closed

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.loop.is_closed():
            self.loop.remove_reader(self.sock.fileno())
            if self.sweeper is not None:
                self.sweeper.cancel()
        self.sock.close()

    async def exchange(self, question: bytes, timeout: float) -> bytes:
        """Send one query and return the reply's wire form; raises `asyncio.TimeoutError` or `OSError`."""
        query_id = random_query_id()
        while query_id in self.pending:
            query_id = random_query_id()
        future = self.loop.create_future()
        self.pending[query_id] = (question.lower(), future, self.loop.time() + timeout)
        if self.sweeper is None:
            self.sweeper = self.loop.call_at(self.loop.time() + timeout, self._sweep)
        try:
            # A full send buffer raises BlockingIOError, an OSError: the
            # query then fails as a network error and the resolver retries.
            self.sock.send(encode_query(query_id, question))
            return await future
        finally:
            self.pending.pop(query_id, None)

    def _sweep(self) -> None:
        self.sweeper = None
        now = self.loop.time()
        for _, future, deadline in list(self.pending.values()):
            if deadline <= now and not future.done():
                future.set_exception(asyncio.TimeoutError())
        waiting = [deadline for _, future, deadline in self.pending.values() if not future.done()]
        if waiting:
            self.sweeper = self.loop.call_at(min(waiting), self._sweep)

    def _drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:
                # An ICMP error (such as port unreachable) cannot be tied to
                # one query, so every pending query fails with it.
                for _, future, _ in self.pending.values():
                    if not future.done():
                        future.set_exception(error)
                return
            self._match(data)

    def _match(self, data: bytes) -> None:
        if len(data) < HEADER_OCTETS:
            return
        (query_id,) = struct.unpack_from("!H", data)
        entry = self.pending.get(query_id)
        if entry is None:
            return
        question, future, _ = entry
        # Compared without case, because names are case-insensitive and not every server echoes the case sent.
        if data[HEADER_OCTETS : HEADER_OCTETS + len(question)].lower() != question or future.done():
            return
        future.set_result(data)


class _QueryIds:
    """Unpredictable 16-bit query IDs (RFC 5452 section 4.3), read from the OS in batches of 1,024."""

    def __init__(self) -> None:
        self.buffer = memoryview(b"").cast("H")
        self.position = 0

    def next(self) -> int:
        if self.position >= len(self.buffer):
            self.buffer = memoryview(os.urandom(2048)).cast("H")
            self.position = 0
        value = self.buffer[self.position]
        self.position += 1
        return value


random_query_id = _QueryIds().next
