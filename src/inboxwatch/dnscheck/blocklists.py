"""The catalogue of DNS blocklists: zones, what each return code means, test points, delisting.

Lists that closed (SORBS, 2024) or answer every query are left out, because
a dead list only produces false listings. Each list's entry names the page
its codes were checked against. Where a list's own pages did not show a
code, test point or delisting address, a NOTE at the entry says so.
Operators change these without notice, so recheck them against the
operator's page when a list starts to look unhealthy.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping

import dns.exception
import dns.name

from inboxwatch.errors import CheckError


class ListKind(str, enum.Enum):
    IP = "ip"
    # Domain lists queried with the full hostname, for zones that list
    # hostnames and answer for their subdomains (Spamhaus DBL).
    HOSTNAME = "hostname"
    # Domain lists queried with the registered domain only (SURBL, URIBL).
    REGISTERED_DOMAIN = "registered_domain"


class Category(str, enum.Enum):
    REPUTATION = "reputation"
    # Listed by policy rather than behaviour, such as dynamic address space (Spamhaus PBL).
    POLICY = "policy"
    # Listings about the asset's neighbours, not the asset itself (UCEPROTECT levels 2 and 3).
    INFORMATIONAL = "informational"
    # Codes that report a problem with the query, never a listing.
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class Code:
    meaning: str
    category: Category = Category.REPUTATION


# Spamhaus returns errors about the query itself from 127.255.255.0/24 and
# they are never a listing ("Spamhaus DNSBL return codes: technical update",
# https://www.spamhaus.org/news/article/788/). The codes in use are named;
# any other code in that range is still read as an error.
SPAMHAUS_ERRORS = {
    **{"127.255.255.%d" % last: Code("query rejected: Spamhaus error code 127.255.255.%d" % last, Category.ERROR) for last in range(256)},
    "127.255.255.252": Code("query rejected: typing error in the DNSBL name", Category.ERROR),
    "127.255.255.254": Code("query rejected: sent through a public or open resolver", Category.ERROR),
    "127.255.255.255": Code("query rejected: too many queries from this resolver", Category.ERROR),
}

# URIBL returns 127.0.0.1 for the queries it rejects, because bit 0x1 is no
# list (https://uribl.com/refused.shtml). NOTE: SURBL is read the same way,
# but no SURBL page seen states it.
BITMASK_REFUSAL = {"127.0.0.1": Code("query rejected: resolver blocked for excessive or public-resolver queries", Category.ERROR)}


@dataclasses.dataclass(frozen=True)
class Blocklist:
    """One DNS blocklist zone and how to read its answers.

    `codes` maps a returned address to its meaning. Lists with `bitmask` set
    encode several sublists in the last octet, and `codes` then maps each
    bit's value (as a decimal string) to its meaning. A code that is in
    neither table is read as a listing with an unknown meaning when it is in
    127.0.0.0/24 or in the /24 of a catalogued listing code. Any other such
    code is not understood, and its result is unknown.

    `listed_probe` and `clear_probe` are the names whose query must and must
    not be listed (RFC 5782 section 5), written as an asset: an IP address
    for IP lists, a domain for domain lists.
    """

    name: str
    zone: str
    kind: ListKind = ListKind.IP
    codes: Mapping[str, Code] = dataclasses.field(default_factory=dict)
    bitmask: bool = False
    listed_probe: str = "127.0.0.2"
    clear_probe: str = "127.0.0.1"
    delist_url: str = ""
    ipv6: bool = False
    # An IP list that also takes domain assets, queried by hostname: used
    # for zones outside the catalogue, whose kind is not known.
    accepts_domains: bool = False
    note: str = ""

    def code(self, address: str) -> Code | None:
        return self.codes.get(address)


def spamhaus_codes(codes: Mapping[str, str], category_by_code: Mapping[str, Category] | None = None) -> dict[str, Code]:
    categories = category_by_code or {}
    table = {address: Code(meaning, categories.get(address, Category.REPUTATION)) for address, meaning in codes.items()}
    table.update(SPAMHAUS_ERRORS)
    return table


# Spamhaus zone codes from "Available Zones",
# https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html
# which marks 127.0.0.5 to .7 (XBL) as currently unused; they are kept
# with the XBL meaning in case they return.
ZEN_CODES = spamhaus_codes(
    {
        "127.0.0.2": "Spamhaus SBL: direct spam source or spam operation",
        "127.0.0.3": "Spamhaus SBL CSS: snowshoe spam source detected by automation",
        "127.0.0.4": "Spamhaus XBL: exploited or infected host",
        "127.0.0.5": "Spamhaus XBL: exploited or infected host",
        "127.0.0.6": "Spamhaus XBL: exploited or infected host",
        "127.0.0.7": "Spamhaus XBL: exploited or infected host",
        "127.0.0.9": "Spamhaus DROP: hijacked or criminal network",
        "127.0.0.10": "Spamhaus PBL: end-user address space, listed by the ISP",
        "127.0.0.11": "Spamhaus PBL: end-user address space, listed by Spamhaus",
        "127.0.0.30": "Spamhaus BCL: botnet controller",
    },
    {"127.0.0.10": Category.POLICY, "127.0.0.11": Category.POLICY},
)

DBL_CODES = spamhaus_codes(
    {
        "127.0.1.2": "Spamhaus DBL: low-reputation domain",
        "127.0.1.4": "Spamhaus DBL: phishing domain",
        "127.0.1.5": "Spamhaus DBL: malware domain",
        "127.0.1.6": "Spamhaus DBL: botnet command-and-control domain",
        "127.0.1.102": "Spamhaus DBL: abused legitimate domain",
        "127.0.1.103": "Spamhaus DBL: abused legitimate domain, used as a redirector",
        "127.0.1.104": "Spamhaus DBL: abused legitimate domain, used in phishing",
        "127.0.1.105": "Spamhaus DBL: abused legitimate domain, used by malware",
        "127.0.1.106": "Spamhaus DBL: abused legitimate domain, hosting command-and-control",
    }
)
DBL_CODES["127.0.1.255"] = Code("query rejected: IP addresses may not be queried in the DBL", Category.ERROR)


def zrd_meaning(last_octet: int) -> str:
    # 127.0.2.2 covers the first 2 hours, then each code one more hour, up to 127.0.2.24.
    if last_octet == 2:
        return "Spamhaus ZRD: domain first seen less than 2 hours ago"
    return "Spamhaus ZRD: domain first seen %d to %d hours ago" % (last_octet - 1, last_octet)


ZRD_CODES = spamhaus_codes({"127.0.2.%d" % last: zrd_meaning(last) for last in range(2, 25)})

# NOTE: the removal address was not confirmed on a Spamhaus page; the pages
# seen name a "Blocklist Removal Center" without its address.
SPAMHAUS_DELIST = "https://check.spamhaus.org/"
# NOTE: none of the pages seen names UCEPROTECT's return code or removal
# page; 127.0.0.2 is the RFC 5782 convention.
UCEPROTECT_DELIST = "https://www.uceprotect.net/en/rblcheck.php"

CATALOGUE: tuple[Blocklist, ...] = (
    Blocklist("spamhaus-zen", "zen.spamhaus.org", codes=ZEN_CODES, delist_url=SPAMHAUS_DELIST, ipv6=True, note="Rejects queries sent through public resolvers; use your own recursive resolver or a DQS key."),
    # NOTE: the DBL and ZRD test entries (dbltest.com, test) are not on the zones page.
    Blocklist("spamhaus-dbl", "dbl.spamhaus.org", ListKind.HOSTNAME, codes=DBL_CODES, listed_probe="dbltest.com", clear_probe="invalid", delist_url=SPAMHAUS_DELIST),
    Blocklist("spamhaus-zrd", "zrd.spamhaus.org", ListKind.HOSTNAME, codes=ZRD_CODES, listed_probe="test", clear_probe="invalid", delist_url=SPAMHAUS_DELIST, note="Zero-reputation domains: newly registered domains, cleared after 24 hours."),
    # Lookup and listing reasons: https://www.spamcop.net/bl.shtml. Listings
    # expire by themselves some time after the last spam report.
    # NOTE: 127.0.0.2 is the RFC 5782 convention; no SpamCop page seen names the code.
    Blocklist("spamcop", "bl.spamcop.net", codes={"127.0.0.2": Code("SpamCop: reported spam source")}, delist_url="https://www.spamcop.net/bl.shtml", note="Listings expire by themselves after the reports stop."),
    # Test entry 127.0.0.2 answers 127.0.0.2: https://www.barracudacentral.org/rbl/how-to-use
    # NOTE: the removal page address was not confirmed on a Barracuda page.
    Blocklist("barracuda", "b.barracudacentral.org", codes={"127.0.0.2": Code("Barracuda BRBL: poor reputation")}, delist_url="https://www.barracudacentral.org/rbl/removal-request", note="Answers only resolvers registered with Barracuda Central."),
    Blocklist("uceprotect-1", "dnsbl-1.uceprotect.net", codes={"127.0.0.2": Code("UCEPROTECT level 1: this address sent spam")}, delist_url=UCEPROTECT_DELIST),
    # Level 2 lists the allocation when enough of its addresses are on level
    # 1, and level 3 the whole network (ASN). The listed address itself may
    # have sent nothing, so these listings are informational.
    Blocklist("uceprotect-2", "dnsbl-2.uceprotect.net", codes={"127.0.0.2": Code("UCEPROTECT level 2: the address's allocation sent spam", Category.INFORMATIONAL)}, delist_url=UCEPROTECT_DELIST),
    Blocklist("uceprotect-3", "dnsbl-3.uceprotect.net", codes={"127.0.0.2": Code("UCEPROTECT level 3: the address's network (ASN) sent spam", Category.INFORMATIONAL)}, delist_url=UCEPROTECT_DELIST),
    # Usage: http://psbl.surriel.com/howto/ (anyone may remove an address).
    # NOTE: 127.0.0.2 is the RFC 5782 convention; no PSBL page seen names the code.
    Blocklist("psbl", "psbl.surriel.com", codes={"127.0.0.2": Code("PSBL: sent mail to spam traps")}, delist_url="https://psbl.surriel.com/listing"),
    # bl.mailspike.net combines the zero-hour list (127.0.0.2) with the
    # reputation levels L3 to L5 (https://mailspike.org/usage.html); level
    # names from https://mailspike.io/ip_verify/about, which also offers delisting.
    # NOTE: the level-to-address mapping (L5 = 127.0.0.10) is from a third-party guide.
    Blocklist(
        "mailspike",
        "bl.mailspike.net",
        codes={
            "127.0.0.2": Code("Mailspike zero-hour: part of a distributed spam wave"),
            "127.0.0.10": Code("Mailspike L5: worst possible reputation"),
            "127.0.0.11": Code("Mailspike L4: very bad reputation"),
            "127.0.0.12": Code("Mailspike L3: bad reputation"),
        },
        delist_url="https://mailspike.io/ip_verify/about",
    ),
    # all.spamrats.com (RATS-All) answers for RATS-Dyna, NoPtr, Spam and Auth
    # in one query: https://www.spamrats.com/lists.php
    # NOTE: the return codes, test point and removal page were not on the pages seen.
    Blocklist(
        "spamrats",
        "all.spamrats.com",
        codes={
            "127.0.0.36": Code("SpamRATS Dyna: dynamic-looking reverse DNS", Category.POLICY),
            "127.0.0.37": Code("SpamRATS NoPtr: no reverse DNS", Category.POLICY),
            "127.0.0.38": Code("SpamRATS Spam: sent spam"),
            "127.0.0.43": Code("SpamRATS Auth: brute-force authentication attempts"),
        },
        listed_probe="127.0.0.38",
        delist_url="https://www.spamrats.com/removal.php",
    ),
    # Bits 8 PH, 16 MW, 64 ABUSE and 128 CR are from the SURBL lists page, as
    # mirrored at https://pipelinedata.tilda.ws/surbl. The lists page also
    # describes removal (https://www.surbl.org/faq.html).
    # NOTE: multi.surbl.org also carries DM (4) and CT (32) today, whose
    # meanings were not on the pages seen, and the test point is taken from
    # a client library's documentation.
    Blocklist(
        "surbl",
        "multi.surbl.org",
        ListKind.REGISTERED_DOMAIN,
        codes={
            "4": Code("SURBL DM list"),
            "8": Code("SURBL PH: phishing"),
            "16": Code("SURBL MW: malware"),
            "32": Code("SURBL CT list"),
            "64": Code("SURBL ABUSE: spam and abuse"),
            "128": Code("SURBL CR: cracked site"),
            **BITMASK_REFUSAL,
        },
        bitmask=True,
        listed_probe="surbl-org-permanent-test-point.com",
        clear_probe="invalid",
        delist_url="https://www.surbl.org/lists.html",
    ),
    # Lists: https://uribl.com/about.shtml. The test entry 127.0.0.2 is
    # queried as 2.0.0.127.multi.uribl.com (https://uribl.com/refused.shtml).
    # NOTE: the bit values are from a third-party guide, and the delisting
    # address (a login is required) was not on the pages seen.
    Blocklist(
        "uribl",
        "multi.uribl.com",
        ListKind.REGISTERED_DOMAIN,
        codes={
            "2": Code("URIBL black: spam domain"),
            "4": Code("URIBL grey: bulk sender domain", Category.INFORMATIONAL),
            "8": Code("URIBL red: new or privacy-protected domain active in mail flow"),
            **BITMASK_REFUSAL,
        },
        bitmask=True,
        listed_probe="2.0.0.127",
        clear_probe="invalid",
        delist_url="https://admin.uribl.com/",
    ),
)

CATALOGUE_BY_NAME = {blocklist.name: blocklist for blocklist in CATALOGUE}


def spamhaus_dqs(key: str) -> tuple[Blocklist, ...]:
    """Return ZEN, DBL and ZRD on Spamhaus's Data Query Service zones for account `key`.

    DQS zones answer any resolver, public ones included, because the key in
    the query name identifies the account.
    """
    if not key.isalnum():
        raise CheckError("invalid Spamhaus DQS key %r: expected letters and digits only" % key)
    return tuple(
        dataclasses.replace(CATALOGUE_BY_NAME[name], name=name + "-dqs", zone="%s.%s.dq.spamhaus.net" % (key, short), note="")
        for name, short in (("spamhaus-zen", "zen"), ("spamhaus-dbl", "dbl"), ("spamhaus-zrd", "zrd"))
    )


def generic_list(zone: str, kind: ListKind = ListKind.IP) -> Blocklist:
    """Build an RFC 5782 list for a zone the catalogue does not know: any 127.0.0.x answer is a listing, other codes are not understood.

    An IP list built here also queries domain assets by hostname, and its
    health is judged by the IPv4 test entries alone.
    """
    zone = zone.strip().rstrip(".").lower()
    if not zone or " " in zone:
        raise CheckError("invalid blocklist zone %r: expected a DNS name such as bl.example.net" % zone)
    if kind is ListKind.IP:
        return Blocklist(zone, zone, kind, ipv6=True, accepts_domains=True)
    return Blocklist(zone, zone, kind, listed_probe="test", clear_probe="invalid")


def select_lists(names: Iterable[str]) -> list[Blocklist]:
    """Pick lists by catalogue name or zone; an unknown zone becomes a generic IP list."""
    by_zone = {blocklist.zone: blocklist for blocklist in CATALOGUE}
    selected = []
    for name in names:
        key = name.strip().rstrip(".").lower()
        known = CATALOGUE_BY_NAME.get(key) or by_zone.get(key)
        if known is None:
            check_zone_name(name, key)
        selected.append(known or generic_list(key))
    return selected


def check_zone_name(name: str, key: str) -> None:
    """Raise CheckError unless `key` is a DNS name that can hold a list: two labels or more, none empty."""
    try:
        parsed = dns.name.from_text(key)
    except dns.exception.DNSException as error:
        raise CheckError("invalid list zone %r: %s" % (name, error)) from None
    if not key or len(parsed.labels) < 3:
        raise CheckError("invalid list zone %r: expected a catalogue name or a zone such as bl.example.org" % name)
