"""A small authoritative DNS server on loopback, serving zones from Python dicts.

It answers over UDP and TCP on the same port in a background thread, so both
synchronous tests and tests running their own event loop can query it. Names
may be wildcards ("*.example"), and a name can be made to return REFUSED or
SERVFAIL. `silent_server()` binds a UDP port that never answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterable, Mapping

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.TXT import TXT

TTL = 300
# RFC 1035 section 4.2.1: without EDNS a UDP answer is at most 512 bytes.
CLASSIC_UDP_LIMIT = 512

# A record value is text in zone-file form, or for TXT the whole joined text.
Records = Mapping[str, Mapping[str, Iterable[str]]]


def txt_rdata(text: str) -> TXT:
    data = text.encode()
    # RFC 1035 section 3.3.14: a TXT record is a list of strings of at most 255 bytes.
    chunks = [data[start : start + 255] for start in range(0, len(data), 255)] or [b""]
    return TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)


class ZoneData:
    def __init__(self, records: Records, refused: Iterable[str] = (), servfail: Iterable[str] = ()) -> None:
        self.records = {name.lower().rstrip("."): dict(types) for name, types in records.items()}
        self.refused = {name.lower().rstrip(".") for name in refused}
        self.servfail = {name.lower().rstrip(".") for name in servfail}
        self.queries: list[tuple[str, str]] = []

    def find(self, name: str) -> dict[str, Iterable[str]] | None:
        if name in self.records:
            return self.records[name]
        labels = name.split(".")
        for start in range(1, len(labels)):
            wildcard = "*." + ".".join(labels[start:])
            if wildcard in self.records:
                return self.records[wildcard]
        return None

    def matches(self, name: str, names: set[str]) -> bool:
        return any(name == entry or name.endswith("." + entry) for entry in names)

    def respond(self, request: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        question = request.question[0]
        name = question.name.to_text().lower().rstrip(".")
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))

        if self.matches(name, self.refused):
            response.set_rcode(dns.rcode.REFUSED)
            return response
        if self.matches(name, self.servfail):
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        types = self.find(name)
        if types is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        values = list(types.get(rdtype, ()))
        if values:
            rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, question.rdtype)
            rrset.update_ttl(TTL)
            for value in values:
                if question.rdtype == dns.rdatatype.TXT:
                    rrset.add(txt_rdata(value))
                else:
                    rrset.add(dns.rdata.from_text(dns.rdataclass.IN, question.rdtype, value))
            response.answer.append(rrset)
        return response


# RFC 1035 section 4.1.1 header flags: QR (response), AA (authoritative answer), RD (recursion desired).
FLAG_QR, FLAG_AA, FLAG_RD = 0x8000, 0x0400, 0x0100
RCODES = {"refused": dns.rcode.REFUSED, "servfail": dns.rcode.SERVFAIL, "nxdomain": dns.rcode.NXDOMAIN}
FAST_TYPES = {dns.rdatatype.A: 4, dns.rdatatype.AAAA: 16, dns.rdatatype.TXT: 0}
# A pointer to the question name at offset 12, right after the header (RFC 1035 section 4.1.4).
NAME_POINTER = b"\xc0\x0c"
# The OPT record of an EDNS reply: root owner, type 41, our payload size as class, no flags (RFC 6891 section 6.1.2).
OPT_REPLY = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)


def encode_rdata(rdtype: int, value: str) -> bytes:
    if rdtype == dns.rdatatype.A:
        return socket.inet_pton(socket.AF_INET, value)
    if rdtype == dns.rdatatype.AAAA:
        return socket.inet_pton(socket.AF_INET6, value)
    return txt_rdata(value).to_wire()


def fast_reply(zone: ZoneData, wire: bytes) -> bytes | None:
    """Answer a plain A, AAAA or TXT query without dnspython, or return None for the general path.

    Building and parsing `dns.message` objects cost about 1 ms per query,
    which made this server the bottleneck of the blocklist benchmark. The
    reply carries the same rcode, records and TTL as `ZoneData.respond`.
    """
    if len(wire) < 17:
        return None
    query_id, flags, questions, answers, authorities, additionals = struct.unpack_from("!6H", wire)
    # Opcode other than QUERY, or sections a stub resolver never sends: take the general path.
    if flags & 0x7800 or questions != 1 or answers or authorities or additionals > 1:
        return None
    labels, position = [], 12
    while position < len(wire) and wire[position]:
        length = wire[position]
        if length > 63:
            return None
        labels.append(wire[position + 1 : position + 1 + length])
        position += 1 + length
    position += 1
    if position + 4 > len(wire):
        return None
    rdtype, rdclass = struct.unpack_from("!HH", wire, position)
    question = wire[12 : position + 4]
    edns = additionals == 1 and wire[position + 4 : position + 7] == b"\x00\x00\x29"
    if rdtype not in FAST_TYPES or rdclass != dns.rdataclass.IN or (additionals and not edns):
        return None
    try:
        name = b".".join(labels).decode("ascii").lower()
    except UnicodeDecodeError:
        return None

    zone.queries.append((name, dns.rdatatype.to_text(rdtype)))
    records = b""
    count = 0
    if zone.matches(name, zone.refused):
        rcode = RCODES["refused"]
    elif zone.matches(name, zone.servfail):
        rcode = RCODES["servfail"]
    else:
        types = zone.find(name)
        rcode = RCODES["nxdomain"] if types is None else 0
        for value in (types or {}).get(dns.rdatatype.to_text(rdtype), ()):
            rdata = encode_rdata(rdtype, value)
            records += NAME_POINTER + struct.pack("!HHIH", rdtype, rdclass, TTL, len(rdata)) + rdata
            count += 1
    header = struct.pack("!6H", query_id, FLAG_QR | FLAG_AA | (flags & FLAG_RD) | rcode, 1, count, 0, 1 if edns else 0)
    reply = header + question + records + (OPT_REPLY if edns else b"")
    limit = struct.unpack_from("!H", wire, position + 7)[0] if edns else CLASSIC_UDP_LIMIT
    # Too big for UDP: the general path sets TC so the client repeats the query over TCP.
    return reply if len(reply) <= max(limit, CLASSIC_UDP_LIMIT) else None


class DnsServer:
    """Serves `ZoneData` on 127.0.0.1; use as a context manager."""

    def __init__(self, zone: ZoneData) -> None:
        self.zone = zone
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._closers: list = []

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.port

    def __enter__(self) -> DnsServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc_info) -> None:
        for close in self._closers:
            self._loop.call_soon_threadsafe(close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        # The TCP listener gets a free port first, and UDP takes the same number.
        server = await asyncio.start_server(self._serve_tcp, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), local_addr=("127.0.0.1", self.port))
        # Room for bursts of queries: the default buffer drops datagrams after about a hundred.
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self._closers += [server.close, transport.close]

    def answer_udp(self, wire: bytes) -> bytes | None:
        fast = fast_reply(self.zone, wire)
        if fast is not None:
            return fast
        try:
            request = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = self.zone.respond(request)
        limit = max(request.payload, CLASSIC_UDP_LIMIT) if request.edns >= 0 else CLASSIC_UDP_LIMIT
        data = response.to_wire(max_size=65535)
        if len(data) > limit:
            response.answer = []
            response.flags |= dns.flags.TC
            data = response.to_wire()
        return data

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
                request = dns.message.from_wire(await reader.readexactly(length))
                data = self.zone.respond(request).to_wire(max_size=65535)
                writer.write(struct.pack("!H", len(data)) + data)
                await writer.drain()
        writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, address) -> None:
        reply = self.server.answer_udp(data)
        if reply is not None:
            self.transport.sendto(reply, address)


@contextlib.contextmanager
def silent_server():
    """Yield "127.0.0.1:PORT" of a UDP socket that reads nothing and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield "127.0.0.1:%d" % sock.getsockname()[1]
    finally:
        sock.close()
