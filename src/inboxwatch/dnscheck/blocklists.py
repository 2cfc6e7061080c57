"""The catalogue of DNS blocklists: zones, what each return code means, test points, delisting.

Return-code meanings follow each operator's published documentation. Lists that closed (SORBS, 2024) or answer every query
are left out, because a dead list only produces false listings.

NOTE: operators change their codes and test points without notice; the
tables below were transcribed by hand and should be rechecked against the
operators' pages when a list starts to look unhealthy.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping

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


# Spamhaus codes that reject the query, returned by every Spamhaus zone.
SPAMHAUS_ERRORS = {
    "127.255.255.252": Code("query rejected: typing error in the DNSBL name", Category.ERROR),
    "127.255.255.254": Code("query rejected: sent through a public or open resolver", Category.ERROR),
    "127.255.255.255": Code("query rejected: too many queries from this resolver", Category.ERROR),
}

# SURBL and URIBL return 127.0.0.1 to resolvers they have blocked.
BITMASK_REFUSAL = {"127.0.0.1": Code("query rejected: resolver blocked for excessive or public-resolver queries", Category.ERROR)}


@dataclasses.dataclass(frozen=True)
class Blocklist:
    """One DNS blocklist zone and how to read its answers.

    `codes` maps a returned address to its meaning. Lists with `bitmask` set
    encode several sublists in the last octet, and `codes` then maps each
    bit's value (as a decimal string) to its meaning. A code that is in
    neither table is read as a listing with an unknown meaning.

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


ZEN_CODES = spamhaus_codes(
    {
        "127.0.0.2": "Spamhaus SBL: direct spam source or spam operation",
        "127.0.0.3": "Spamhaus SBL CSS: snowshoe or low-reputation sending",
        "127.0.0.4": "Spamhaus XBL: exploited or infected host",
        "127.0.0.5": "Spamhaus XBL: exploited or infected host",
        "127.0.0.6": "Spamhaus XBL: exploited or infected host",
        "127.0.0.7": "Spamhaus XBL: exploited or infected host",
        "127.0.0.9": "Spamhaus DROP: hijacked or criminal network",
        "127.0.0.10": "Spamhaus PBL: end-user address space, listed by the ISP",
        "127.0.0.11": "Spamhaus PBL: end-user address space, listed by Spamhaus",
    },
    {"127.0.0.10": Category.POLICY, "127.0.0.11": Category.POLICY},
)

DBL_CODES = spamhaus_codes(
    {
        "127.0.1.2": "Spamhaus DBL: spam domain",
        "127.0.1.4": "Spamhaus DBL: phishing domain",
        "127.0.1.5": "Spamhaus DBL: malware domain",
        "127.0.1.6": "Spamhaus DBL: botnet command-and-control domain",
        "127.0.1.102": "Spamhaus DBL: abused legitimate domain, spam",
        "127.0.1.103": "Spamhaus DBL: abused legitimate domain, spammed redirector",
        "127.0.1.104": "Spamhaus DBL: abused legitimate domain, phishing",
        "127.0.1.105": "Spamhaus DBL: abused legitimate domain, malware",
        "127.0.1.106": "Spamhaus DBL: abused legitimate domain, botnet command-and-control",
    }
)
DBL_CODES["127.0.1.255"] = Code("query rejected: IP addresses may not be queried in the DBL", Category.ERROR)

ZRD_CODES = spamhaus_codes({"127.0.2.%d" % hours: "Spamhaus ZRD: domain first seen %d hours ago" % hours for hours in range(2, 25)})

SPAMHAUS_DELIST = "https://check.spamhaus.org/"

CATALOGUE: tuple[Blocklist, ...] = (
    Blocklist("spamhaus-zen", "zen.spamhaus.org", codes=ZEN_CODES, delist_url=SPAMHAUS_DELIST, ipv6=True, note="Rejects queries sent through public resolvers; use your own recursive resolver or a DQS key."),
    Blocklist("spamhaus-dbl", "dbl.spamhaus.org", ListKind.HOSTNAME, codes=DBL_CODES, listed_probe="dbltest.com", clear_probe="invalid", delist_url=SPAMHAUS_DELIST),
    Blocklist("spamhaus-zrd", "zrd.spamhaus.org", ListKind.HOSTNAME, codes=ZRD_CODES, listed_probe="test", clear_probe="invalid", delist_url=SPAMHAUS_DELIST, note="Zero-reputation domains: newly registered domains, cleared after 24 hours."),
    Blocklist("spamcop", "bl.spamcop.net", codes={"127.0.0.2": Code("SpamCop: reported spam source")}, delist_url="https://www.spamcop.net/bl.shtml", note="Listings expire by themselves 24 hours after the last report."),
    Blocklist("barracuda", "b.barracudacentral.org", codes={"127.0.0.2": Code("Barracuda BRBL: poor reputation")}, delist_url="https://www.barracudacentral.org/rbl/removal-request", note="Answers only resolvers registered with Barracuda Central."),
    Blocklist("uceprotect-1", "dnsbl-1.uceprotect.net", codes={"127.0.0.2": Code("UCEPROTECT level 1: this address sent spam")}, delist_url="https://www.uceprotect.net/en/rblcheck.php"),
    Blocklist("uceprotect-2", "dnsbl-2.uceprotect.net", codes={"127.0.0.2": Code("UCEPROTECT level 2: the address's allocation sent spam", Category.INFORMATIONAL)}, delist_url="https://www.uceprotect.net/en/rblcheck.php"),
    Blocklist("uceprotect-3", "dnsbl-3.uceprotect.net", codes={"127.0.0.2": Code("UCEPROTECT level 3: the address's network (ASN) sent spam", Category.INFORMATIONAL)}, delist_url="https://www.uceprotect.net/en/rblcheck.php"),
    Blocklist("psbl", "psbl.surriel.com", codes={"127.0.0.2": Code("PSBL: sent mail to spam traps")}, delist_url="https://psbl.org/remove"),
    Blocklist(
        "mailspike",
        "bl.mailspike.net",
        codes={
            "127.0.0.2": Code("Mailspike: listed for poor reputation"),
            "127.0.0.10": Code("Mailspike: worst reputation (L5)"),
            "127.0.0.11": Code("Mailspike: very bad reputation (L4)"),
            "127.0.0.12": Code("Mailspike: bad reputation (L3)"),
            "127.0.0.13": Code("Mailspike: suspicious reputation (L2)"),
            "127.0.0.14": Code("Mailspike: slightly suspicious reputation (L1)"),
        },
        delist_url="https://mailspike.org/iprep.html",
    ),
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
    Blocklist(
        "surbl",
        "multi.surbl.org",
        ListKind.REGISTERED_DOMAIN,
        codes={
            "8": Code("SURBL PH: phishing"),
            "16": Code("SURBL MW: malware"),
            "64": Code("SURBL ABUSE: spam and abuse"),
            "128": Code("SURBL CR: cracked site"),
            **BITMASK_REFUSAL,
        },
        bitmask=True,
        listed_probe="surbl-org-permanent-test-point.com",
        clear_probe="invalid",
        delist_url="https://www.surbl.org/surbl-analysis",
    ),
    Blocklist(
        "uribl",
        "multi.uribl.com",
        ListKind.REGISTERED_DOMAIN,
        codes={
            "2": Code("URIBL black: spam domain"),
            "4": Code("URIBL grey: bulk sender domain", Category.INFORMATIONAL),
            "8": Code("URIBL red: newly seen spam domain"),
            **BITMASK_REFUSAL,
        },
        bitmask=True,
        listed_probe="test.uribl.com",
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
    """Build an RFC 5782 list for a zone the catalogue does not know: any 127.0.0.x answer is a listing.

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
        selected.append(CATALOGUE_BY_NAME.get(key) or by_zone.get(key) or generic_list(key))
    return selected
