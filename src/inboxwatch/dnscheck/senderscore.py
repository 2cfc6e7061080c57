"""Validity Sender Score through its DNS zone.

For 203.0.113.7 the query is A 7.113.0.203.score.senderscore.com; an answer
of 127.0.4.N means a score of N (0 to 100), and NXDOMAIN means the zone has
no score for the IP. A failed lookup (timeout,
SERVFAIL, REFUSED) is unknown and raises, so it is never read as "no score".
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.errors import FeedError
from inboxwatch.model.reputation import SenderScore

SCORE_PREFIX = "127.0.4."


def score_name(ip: str, zone: str) -> str:
    address = ipaddress.ip_address(ip)
    if address.version != 4:
        raise FeedError("Sender Score lookup for %s failed: the zone covers IPv4 addresses only" % ip)
    return ".".join(reversed(str(address).split("."))) + "." + zone.strip(".")


async def lookup_sender_score(resolver: Resolver, ip: str, zone: str, now: datetime) -> SenderScore:
    """Look up one IPv4 address's score; raises `FeedError` when the lookup fails or the answer is not 127.0.4.N."""
    lookup = await resolver.query(score_name(ip, zone), "A")
    if lookup.failed:
        raise FeedError("Sender Score lookup for %s failed: %s" % (ip, lookup.outcome.value), retryable=True)
    if lookup.empty:
        return SenderScore(ip=ip, checked_at=now, score=None)
    for record in lookup.records:
        if record.startswith(SCORE_PREFIX):
            value = record[len(SCORE_PREFIX) :]
            if value.isdigit() and 0 <= int(value) <= 100:
                return SenderScore(ip=ip, checked_at=now, score=int(value))
    raise FeedError("Sender Score lookup for %s failed: unexpected answer %s, expected 127.0.4.N" % (ip, ", ".join(lookup.records)))
