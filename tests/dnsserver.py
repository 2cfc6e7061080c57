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
        self._closers += [server.close, transport.close]

    def answer_udp(self, wire: bytes) -> bytes | None:
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
