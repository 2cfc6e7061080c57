"""Blocklist query names, answer interpretation and list health. Pure: no I/O.

The async driver in `dnscheck.blocklist_check` sends the queries built here
and passes the `Lookup`s back in.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress
import re

from publicsuffixlist import PublicSuffixList

from inboxwatch.dnscheck.blocklists import Blocklist, Category, ListKind
from inboxwatch.dnscheck.resolver import Lookup, Outcome
from inboxwatch.errors import CheckError


@functools.cache
def public_suffix_list() -> PublicSuffixList:
    """Load the list bundled with the publicsuffixlist package; it is never downloaded at run time."""
    return PublicSuffixList()


# RFC 1035 section 2.3.4: labels of 1 to 63 characters, names of at most 253 in text form.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_LOOKS_LIKE_IPV4 = re.compile(r"^[0-9.]+$")

# A configured network is expanded to its addresses up to this size (a /22).
MAX_EXPANDED_ADDRESSES = 1024



class AssetKind(str, enum.Enum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DOMAIN = "domain"


@dataclasses.dataclass(frozen=True)
class Asset:
    kind: AssetKind
    value: str

    def __str__(self) -> str:
        return self.value


class Status(str, enum.Enum):
    LISTED = "listed"
    CLEAR = "clear"
    UNKNOWN = "unknown"


class Health(str, enum.Enum):
    HEALTHY = "healthy"
    # The list answered with a refusal: REFUSED, or an error code such as
    # Spamhaus's 127.255.255.254 for queries from public resolvers.
    REFUSING = "refusing"
    # The entry that must not be listed was listed: the zone is dead and
    # wildcarded, or a resolver rewrites NXDOMAIN.
    ANSWERING_EVERYTHING = "answering_everything"
    UNREACHABLE = "unreachable"
    # No refusal, but the entry that must be listed was not, so a "clear"
    # cannot be distinguished from a list that stopped publishing.
    UNVERIFIED = "unverified"


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parse a sending IP address; a hostname raises `CheckError` naming it as a hostname."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        pass
    octets = text.strip().split(".")
    zero_padded = [octet for octet in octets if len(octet) > 1 and octet.startswith("0")]
    if _LOOKS_LIKE_IPV4.match(text.strip()) and len(octets) == 4 and zero_padded:
        # Python rejects leading zeros because other parsers read them as octal (010 = 8).
        decimal = ".".join(str(int(octet)) if octet else octet for octet in octets)
        raise CheckError("invalid IP address %r: octet %r has a leading zero, which some software reads as octal. For the decimal address, write %s" % (text, zero_padded[0], decimal))
    if _LOOKS_LIKE_IPV4.match(text.strip()) or ":" in text:
        raise CheckError("invalid IP address %r: expected four numbers from 0 to 255 (IPv4) or an IPv6 address" % text)
    raise CheckError("invalid IP address %r: it looks like a hostname; give IP addresses here and domains as domains" % text)


def normalize_domain(text: str) -> str:
    name = text.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise CheckError("invalid domain %r: %s" % (text, error)) from error
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise CheckError("invalid domain %r: expected a DNS name such as mail.example.com" % text)
    return name


def parse_asset(text: str) -> Asset:
    """Read an IP address or a domain; digits and dots that are no valid IPv4 address are an error."""
    stripped = text.strip()
    if _LOOKS_LIKE_IPV4.match(stripped) or ":" in stripped:
        address = parse_ip(stripped)
        kind = AssetKind.IPV4 if address.version == 4 else AssetKind.IPV6
        return Asset(kind, str(address))
    return Asset(AssetKind.DOMAIN, normalize_domain(stripped))


def expand_network(text: str, max_addresses: int) -> list[Asset]:
    """Expand an address or CIDR network to one asset per address; a larger network than `max_addresses` raises `CheckError`."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as error:
        raise CheckError("invalid IP network %r: %s" % (text, error)) from error
    if network.num_addresses > max_addresses:
        raise CheckError("IP network %s has %d addresses; list networks of at most %d addresses, or name the addresses" % (text, network.num_addresses, max_addresses))
    kind = AssetKind.IPV4 if network.version == 4 else AssetKind.IPV6
    return [Asset(kind, str(address)) for address in network]


def registered_domain(name: str) -> str:
    """Return the registered domain (public suffix plus one label) of `name`."""
    domain = public_suffix_list().privatesuffix(name)
    if domain is None:
        raise CheckError("no registered domain in %r: the name is itself a public suffix" % name)
    return domain


@functools.lru_cache(maxsize=65536)
def reversed_address(text: str) -> str:
    """Reverse a valid address given as text; cached because each asset is queried on every list."""
    return reversed_ip(ipaddress.ip_address(text))


def reversed_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # RFC 5782 section 2.1 (IPv4: octets reversed) and 2.4 (IPv6: all 32 nibbles reversed).
    if address.version == 4:
        return ".".join(reversed(str(address).split(".")))
    return ".".join(reversed(address.exploded.replace(":", "")))


def applies(asset: Asset, blocklist: Blocklist) -> bool:
    if blocklist.kind is not ListKind.IP:
        return asset.kind is AssetKind.DOMAIN
    if asset.kind is AssetKind.IPV6:
        return blocklist.ipv6
    return asset.kind is AssetKind.IPV4 or blocklist.accepts_domains


def inapplicable_reason(asset: Asset, blocklist: Blocklist) -> str:
    """Explain why `blocklist` cannot be asked about `asset`; the caller checks that `applies` is false."""
    if blocklist.kind is not ListKind.IP:
        return "%s lists domains only; %s is an IP address" % (blocklist.zone, asset.value)
    if asset.kind is AssetKind.IPV6:
        return "%s lists IPv4 addresses only; %s is an IPv6 address" % (blocklist.zone, asset.value)
    address = address_in_query_name(asset.value, blocklist.zone)
    if address:
        return "%s lists IP addresses only; %s is already a query name in that zone, so check the IP address %s instead" % (blocklist.zone, asset.value, address)
    return "%s lists IP addresses only; %s is a domain" % (blocklist.zone, asset.value)


def address_in_query_name(name: str, zone: str) -> str | None:
    """Return the IPv4 address that a query name such as 10.113.0.203.zen.spamhaus.org encodes, or None."""
    suffix = "." + zone
    if not name.endswith(suffix):
        return None
    octets = name[: -len(suffix)].split(".")
    try:
        return str(ipaddress.IPv4Address(".".join(reversed(octets))))
    except ValueError:
        return None


def query_name(asset: Asset, blocklist: Blocklist) -> str:
    """Build the name to query for `asset` in `blocklist`; the caller checks `applies` first."""
    if asset.kind is not AssetKind.DOMAIN:
        return "%s.%s" % (reversed_address(asset.value), blocklist.zone)
    if blocklist.kind is ListKind.REGISTERED_DOMAIN:
        return "%s.%s" % (registered_domain(asset.value), blocklist.zone)
    return "%s.%s" % (asset.value, blocklist.zone)


def probe_name(probe: str, blocklist: Blocklist) -> str:
    """Build the query for a test entry; test names such as "test" and "invalid" skip the PSL."""
    if blocklist.kind is ListKind.IP:
        return "%s.%s" % (reversed_ip(ipaddress.ip_address(probe)), blocklist.zone)
    return "%s.%s" % (probe, blocklist.zone)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The reading of one asset's answer on one list, before list health is considered."""

    status: Status
    codes: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    categories: tuple[Category, ...] = ()
    # The list answered with an error code: the query was rejected.
    rejected: bool = False


def is_understood(blocklist: Blocklist, address: str) -> bool:
    """Tell whether a return code reads as a listing or an error.

    Understood are catalogued codes, a bitmask list's codes, and any code in
    127.0.0.0/24 (RFC 5782 section 2.3) or in the /24 of one of the list's
    catalogued listing codes (Spamhaus DBL: 127.0.1.0/24).
    """
    if blocklist.bitmask or blocklist.code(address) is not None:
        return True
    prefix = address.rsplit(".", 1)[0]
    listing_prefixes = {"127.0.0"} | {code.rsplit(".", 1)[0] for code, meaning in blocklist.codes.items() if meaning.category is not Category.ERROR}
    return prefix in listing_prefixes


def meanings_of(blocklist: Blocklist, address: str) -> list[tuple[str, Category]]:
    code = blocklist.code(address)
    if code is not None:
        return [(code.meaning, code.category)]
    if not blocklist.bitmask:
        return [("listed, return code %s not in the catalogue" % address, Category.REPUTATION)]
    last_octet = int(address.rsplit(".", 1)[1])
    found = []
    for bit in range(8):
        value = 1 << bit
        if last_octet & value:
            bit_code = blocklist.code(str(value))
            found.append((bit_code.meaning, bit_code.category) if bit_code else ("listed, bit %d not in the catalogue" % value, Category.REPUTATION))
    return found


def read_answer(blocklist: Blocklist, lookup: Lookup) -> Verdict:
    """Interpret the A records returned for one asset's query."""
    if lookup.failed:
        return Verdict(Status.UNKNOWN)
    if lookup.empty:
        return Verdict(Status.CLEAR)

    meanings: list[str] = []
    categories: list[Category] = []
    understood = True
    for address in lookup.records:
        # RFC 5782 section 2.3: entries are returned as addresses in
        # 127.0.0.0/8. A records arrive as dotted quads, so the prefix test
        # is exactly that membership test, at a fraction of `ipaddress`'s cost.
        if not address.startswith("127."):
            meanings.append("answer %s is outside 127.0.0.0/8, not a blocklist code" % address)
            categories.append(Category.ERROR)
            continue
        if not is_understood(blocklist, address):
            # Lists put their error codes outside their listing ranges
            # (Spamhaus: 127.255.255.0/24), so such a code is no listing.
            meanings.append("return code %s is not understood (not in the catalogue and outside the list's listing ranges), so the result is unknown" % address)
            understood = False
            continue
        for meaning, category in meanings_of(blocklist, address):
            meanings.append(meaning)
            categories.append(category)

    codes = tuple(sorted(lookup.records))
    if Category.ERROR in categories:
        return Verdict(Status.UNKNOWN, codes, tuple(meanings), tuple(categories), rejected=True)
    if not understood:
        return Verdict(Status.UNKNOWN, codes, tuple(meanings), tuple(categories))
    return Verdict(Status.LISTED, codes, tuple(meanings), tuple(categories))


def assess_health(blocklist: Blocklist, listed_probe: Lookup, clear_probe: Lookup) -> Health:
    """Judge a list from its RFC 5782 section 5 test entries: one must be listed, one must not."""
    probes = (listed_probe, clear_probe)
    if any(probe.outcome is Outcome.REFUSED for probe in probes):
        return Health.REFUSING
    if any(probe.failed for probe in probes):
        return Health.UNREACHABLE
    if any(read_answer(blocklist, probe).rejected for probe in probes):
        return Health.REFUSING
    if clear_probe.outcome is Outcome.ANSWER:
        return Health.ANSWERING_EVERYTHING
    if listed_probe.outcome is Outcome.ANSWER:
        return Health.HEALTHY
    return Health.UNVERIFIED


def final_status(health: Health, verdict: Verdict) -> Status:
    """Only a healthy list may call an asset listed or clear."""
    return verdict.status if health is Health.HEALTHY else Status.UNKNOWN
