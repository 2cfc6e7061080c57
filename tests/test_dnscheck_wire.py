"""The minimal reply reader, checked against replies built with dnspython."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from dnsserver import txt_rdata
from inboxwatch.dnscheck.wire import TYPE_A, TYPE_AAAA, TYPE_TXT, read_reply


def reply(name, rdtype, answers=(), rcode=dns.rcode.NOERROR, soa=None):
    query = dns.message.make_query(name, rdtype)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for owner, record_type, ttl, values in answers:
        if record_type == "TXT":
            rrset = dns.rrset.RRset(dns.name.from_text(owner), dns.rdataclass.IN, dns.rdatatype.TXT)
            rrset.update_ttl(ttl)
            for value in values:
                rrset.add(txt_rdata(value))
        else:
            rrset = dns.rrset.from_text(owner, ttl, "IN", record_type, *values)
        response.answer.append(rrset)
    if soa is not None:
        response.authority.append(dns.rrset.from_text(name.split(".", 1)[1], soa[0], "IN", "SOA", "ns.test. admin.test. 1 3600 600 86400 %d" % soa[1]))
    return response.to_wire()


@pytest.mark.parametrize(
    "data, rdtype, expected",
    [
        pytest.param(reply("2.0.0.127.bl.test.", "A", [("2.0.0.127.bl.test.", "A", 300, ["127.0.0.2", "127.0.0.4"])]), TYPE_A, (0, False, ["127.0.0.2", "127.0.0.4"], 300, 0), id="two-addresses"),
        pytest.param(
            reply("a.test.", "A", [("a.test.", "CNAME", 60, ["b.test."]), ("b.test.", "A", 30, ["192.0.2.1"])]),
            TYPE_A,
            (0, False, ["192.0.2.1"], 30, 0),
            id="cname-chain",
        ),
        pytest.param(reply("a.test.", "AAAA", [("a.test.", "AAAA", 60, ["2001:db8::1"])]), TYPE_AAAA, (0, False, ["2001:db8::1"], 60, 0), id="ipv6"),
        pytest.param(reply("t.test.", "TXT", [("t.test.", "TXT", 60, ["x" * 300])]), TYPE_TXT, (0, False, ["x" * 300], 60, 0), id="txt-joined"),
        pytest.param(reply("n.bl.test.", "A", rcode=dns.rcode.NXDOMAIN, soa=(900, 60)), TYPE_A, (3, False, [], 0, 60), id="nxdomain-soa-minimum"),
    ],
)
def test_read_reply_matches_dnspython(data, rdtype, expected):
    rcode, truncated, records, ttl, negative_ttl = read_reply(data, rdtype)
    # dnspython does not keep the order of records within an RRset.
    assert (rcode, truncated, sorted(records), ttl, negative_ttl) == expected


def test_read_reply_truncated_flag():
    query = dns.message.make_query("t.test.", "TXT")
    response = dns.message.make_response(query)
    response.flags |= dns.flags.TC
    assert read_reply(response.to_wire(), TYPE_TXT)[1] is True


@pytest.mark.parametrize(
    "data, rdtype",
    [
        pytest.param(b"\x00\x01", TYPE_A, id="shorter-than-header"),
        pytest.param(reply("a.test.", "A", [("a.test.", "A", 60, ["192.0.2.1"])])[:-2], TYPE_A, id="cut-record"),
        pytest.param(reply("a.test.", "MX", [("a.test.", "MX", 60, ["10 mx.test."])]), 15, id="type-not-handled"),
    ],
)
def test_read_reply_falls_back(data, rdtype):
    assert read_reply(data, rdtype) is None
