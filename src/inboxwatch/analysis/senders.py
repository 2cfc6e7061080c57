"""Known senders: telling a domain's own mail from mail that only claims to be from it.

A source IP is known when it lies in one of the configured networks, or
when an SPF record the operator vouches for (an ESP's include such as
_spf.google.com) authorises it. Pure: the SPF checks are passed in as
functions, already fed with fetched DNS data.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Mapping, Sequence

# Tells whether one IP address is authorised by one SPF record (check_host gave "pass").
SpfCheck = Callable[[str], bool]


@dataclasses.dataclass(frozen=True)
class SenderIdentity:
    """The identity of one source IP: whether it sends for us, the rule that matched it, and its reverse DNS name."""

    known: bool
    matched_by: str | None = None
    reverse_name: str | None = None

    @property
    def label(self) -> str:
        return "known" if self.known else "unknown"


class KnownSenders:
    """Matches source IPs against the configured networks, then against the vouched-for SPF records."""

    def __init__(self, networks: Sequence[str] = (), spf_checks: Mapping[str, SpfCheck] | None = None) -> None:
        self.networks = [ipaddress.ip_network(network, strict=False) for network in networks]
        self.spf_checks = dict(spf_checks or {})

    def identify(self, source_ip: str | None, reverse_name: str | None = None) -> SenderIdentity:
        """Return the identity of `source_ip`; an address that does not parse is unknown."""
        try:
            address = ipaddress.ip_address((source_ip or "").strip())
        except ValueError:
            return SenderIdentity(False, reverse_name=reverse_name)
        for network in self.networks:
            if address.version == network.version and address in network:
                return SenderIdentity(True, "known_senders %s" % network, reverse_name)
        for include, authorised in self.spf_checks.items():
            if authorised(str(address)):
                return SenderIdentity(True, "SPF %s" % include, reverse_name)
        return SenderIdentity(False, reverse_name=reverse_name)
