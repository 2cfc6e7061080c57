"""Helpers shared by the MTA log parsers: internal hops and stable event ids."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache

# "[address]" as Postfix and Exim print a remote host ("mx.example[192.0.2.1]")
# in reply texts. Starting at the bracket keeps the search fast.
BRACKETED_ADDRESS = re.compile(r"\[([0-9A-Fa-f.:]+)\]")


@lru_cache(maxsize=4096)
def is_loopback(address: str) -> bool:
    """Return True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else, names included."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(parsed, "ipv4_mapped", None)
    return parsed.is_loopback or bool(mapped and mapped.is_loopback)


def is_internal_address(address: str | None, local_addresses: frozenset[str]) -> bool:
    """Return True when a relay address is this server itself (loopback or one of its own addresses).

    A hop there goes to a content filter, a signer or a mailbox store, not
    to a receiving mail server, so it is no evidence of deliverability.
    """
    if not address:
        return False
    return address in local_addresses or is_loopback(address)


def make_event_id(source: str, *parts: str) -> str:
    """Derive an event id from the parser kind and the input that produced the event.

    Callers pass the raw line(s) and the fields that tell apart several
    events of one line (the recipient, the event type), so reading the same
    log again gives the same ids.
    """
    text = "\x00".join((source, *parts))
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()
