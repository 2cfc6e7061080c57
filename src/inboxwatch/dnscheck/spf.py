"""SPF (RFC 7208) record parsing, lookup counting and host authorisation. Pure: no I/O.

`spf_fetch.fetch_tree` resolves a domain's record tree into `SpfNode`s;
`evaluate` counts and judges it and `check_host` asks whether one IP address
is authorised, both from the fetched data only.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re

from inboxwatch.dnscheck.findings import Problem, error, lookup_failed_text, warning
from inboxwatch.dnscheck.resolver import Lookup

# RFC 7208 section 4.6.4: at most 10 terms that cause DNS queries
# (include, a, mx, ptr, exists and the redirect modifier) ...
MAX_DNS_LOOKUPS = 10
# ... at most 2 of those queries may be void (NXDOMAIN or no answer) ...
MAX_VOID_LOOKUPS = 2
# ... and an mx or ptr term may look up at most 10 names.
MAX_NAMES_PER_TERM = 10
# RFC 7208 section 3.4: the answer SHOULD fit in 512 octets of UDP. About 60
# octets go to the header, question and record overhead, so 450 is an estimate.
MAX_RECORD_BYTES = 450

LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = LOOKUP_MECHANISMS | {"all", "ip4", "ip6"}
QUALIFIER_RESULTS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}

_MECHANISM = re.compile(r"^([+\-~?]?)([a-z0-9]+)(?::([^/]*))?(?:/(\d+))?(?://(\d+))?$", re.IGNORECASE)
_MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Term:
    qualifier: str
    name: str
    # The domain-spec or address argument, or None when absent.
    argument: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None

    @property
    def has_macro(self) -> bool:
        return self.argument is not None and "%" in self.argument


@dataclasses.dataclass(frozen=True)
class SpfRecord:
    text: str
    mechanisms: tuple[Term, ...]
    redirect: str | None
    problems: tuple[Problem, ...]


def is_spf(text: str) -> bool:
    # RFC 7208 section 4.5: a record starts with "v=spf1" followed by a space or the end.
    return text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")


def parse_mechanism(token: str) -> tuple[Term | None, Problem | None]:
    match = _MECHANISM.match(token)
    if not match or match.group(2).lower() not in MECHANISMS:
        return None, error("invalid SPF term %r: not a known mechanism or modifier (RFC 7208 section 5)" % token)
    qualifier, name, argument, cidr4, cidr6 = match.groups()
    name = name.lower()
    term = Term(qualifier or "+", name, argument, int(cidr4) if cidr4 else None, int(cidr6) if cidr6 else None)
    if name in ("ip4", "ip6"):
        return validate_network(token, term)
    if name in ("include", "exists") and not argument:
        return None, error("invalid SPF term %r: %s needs a domain" % (token, name))
    if (term.cidr4 is not None and term.cidr4 > 32) or (term.cidr6 is not None and term.cidr6 > 128):
        return None, error("invalid SPF term %r: prefix length out of range" % token)
    return term, None


def validate_network(token: str, term: Term) -> tuple[Term | None, Problem | None]:
    # The address pattern swallowed the prefix for ip6 ("2001:db8::/32"), so rebuild it.
    text = token.split(":", 1)[1] if ":" in token else ""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None, error("invalid SPF term %r: %s needs an address or network" % (token, term.name))
    if (network.version == 4) != (term.name == "ip4"):
        return None, error("invalid SPF term %r: address family does not match %s" % (token, term.name))
    return Term(term.qualifier, term.name, str(network)), None


def parse_record(text: str) -> SpfRecord:
    problems: list[Problem] = []
    mechanisms: list[Term] = []
    modifiers: dict[str, str] = {}
    for token in text.split()[1:]:
        modifier = _MODIFIER.match(token)
        if modifier:
            key = modifier.group(1).lower()
            if key in modifiers and key in ("redirect", "exp"):
                problems.append(error("invalid SPF record: %s= appears twice (RFC 7208 section 6)" % key))
            modifiers[key] = modifier.group(2)
            continue
        term, problem = parse_mechanism(token)
        if problem:
            problems.append(problem)
        if term:
            mechanisms.append(term)
    return SpfRecord(text, tuple(mechanisms), modifiers.get("redirect"), tuple(problems))


@dataclasses.dataclass
class SpfNode:
    """One domain's SPF record and the DNS data its terms need, fetched in advance.

    `children` maps a term's position (the redirect is at position
    len(mechanisms)) to the fetched include or redirect target.
    `term_lookups` maps a position to the term's queries: for a, the A and
    AAAA lookups; for mx, the MX lookup then each exchange's A and AAAA;
    for exists, the A lookup. `loops` holds positions whose target is
    already on the include path.
    """

    domain: str
    txt: Lookup
    record_texts: tuple[str, ...] = ()
    record: SpfRecord | None = None
    children: dict[int, SpfNode] = dataclasses.field(default_factory=dict)
    term_lookups: dict[int, tuple[Lookup, ...]] = dataclasses.field(default_factory=dict)
    loops: set[int] = dataclasses.field(default_factory=set)
    truncated: bool = False


@dataclasses.dataclass
class SpfReport:
    lookups: int = 0
    void_lookups: int = 0
    problems: list[Problem] = dataclasses.field(default_factory=list)
    # The DNS lookups that failed, which leave the counts a lower bound.
    failures: list[str] = dataclasses.field(default_factory=list)

    @property
    def lookup_failed(self) -> bool:
        return bool(self.failures)


def evaluate(root: SpfNode) -> SpfReport:
    """Count DNS lookups and void lookups over the whole tree and list the record's problems."""
    report = SpfReport()
    judge_node(root, report, is_root=True)
    if report.lookups > MAX_DNS_LOOKUPS:
        report.problems.append(error("SPF for %s needs %d DNS lookups; RFC 7208 section 4.6.4 allows at most %d, so receivers return permerror" % (root.domain, report.lookups, MAX_DNS_LOOKUPS)))
    if report.void_lookups > MAX_VOID_LOOKUPS:
        report.problems.append(error("SPF for %s has %d void lookups; RFC 7208 section 4.6.4 allows at most %d" % (root.domain, report.void_lookups, MAX_VOID_LOOKUPS)))
    return report


def judge_node(node: SpfNode, report: SpfReport, *, is_root: bool) -> None:
    if node.txt.failed:
        report.failures.append(lookup_failed_text(node.domain, "TXT", node.txt.outcome.value))
        return
    if len(node.record_texts) > 1:
        report.problems.append(error("%s publishes %d SPF records; RFC 7208 section 4.5 makes that a permerror" % (node.domain, len(node.record_texts))))
    if node.record is None:
        if not is_root:
            report.problems.append(error("%s has no SPF record, so the include or redirect naming it is a permerror (RFC 7208 section 5.2)" % node.domain))
        return

    record = node.record
    report.problems.extend(record.problems)
    if len(record.text.encode()) > MAX_RECORD_BYTES:
        report.problems.append(warning("SPF record of %s is %d bytes; keep it under about %d so the answer fits a 512-byte UDP message (RFC 7208 section 3.4)" % (node.domain, len(record.text.encode()), MAX_RECORD_BYTES)))
    for position, term in enumerate(record.mechanisms):
        judge_term(node, position, term, report)
    if record.redirect is not None:
        report.lookups += 1
        if any(term.name == "all" for term in record.mechanisms):
            report.problems.append(warning("%s: redirect=%s is ignored because the record has an all mechanism (RFC 7208 section 6.1)" % (node.domain, record.redirect)))
        judge_target(node, len(record.mechanisms), "redirect=%s" % record.redirect, report)
    judge_all(node, record, report, is_root=is_root)


def judge_term(node: SpfNode, position: int, term: Term, report: SpfReport) -> None:
    if term.name not in LOOKUP_MECHANISMS:
        return
    report.lookups += 1
    if term.name == "ptr":
        report.problems.append(warning("%s uses the ptr mechanism, which RFC 7208 section 5.5 says SHOULD NOT be used" % node.domain))
    if term.name == "include":
        judge_target(node, position, "include:%s" % term.argument, report)
        return
    lookups = node.term_lookups.get(position, ())
    for lookup in lookups:
        if lookup.failed:
            report.failures.append("%s: %s" % (node.domain, lookup_failed_text(lookup.name.rstrip("."), lookup.rdtype, lookup.outcome.value)))
    if term.name == "a" and len(lookups) == 2 and all(lookup.empty for lookup in lookups):
        report.void_lookups += 1
    if term.name in ("mx", "exists") and lookups and lookups[0].empty:
        report.void_lookups += 1
    if term.name == "mx" and lookups and len(lookups[0].records) > MAX_NAMES_PER_TERM:
        report.problems.append(error("%s: mx%s returns %d MX records; RFC 7208 section 4.6.4 allows at most %d" % (node.domain, ":" + term.argument if term.argument else "", len(lookups[0].records), MAX_NAMES_PER_TERM)))


def judge_target(node: SpfNode, position: int, label: str, report: SpfReport) -> None:
    if position in node.loops:
        report.problems.append(error("%s: %s loops back to a domain already being evaluated" % (node.domain, label)))
        return
    child = node.children.get(position)
    if child is None:
        return
    if child.txt.outcome.value == "nxdomain":
        report.void_lookups += 1
    judge_node(child, report, is_root=False)


def judge_all(node: SpfNode, record: SpfRecord, report: SpfReport, *, is_root: bool) -> None:
    final = [term for term in record.mechanisms if term.name == "all"]
    if not final:
        if is_root and record.redirect is None:
            report.problems.append(warning("SPF for %s has no all mechanism, so unlisted hosts get neutral" % node.domain))
        return
    qualifier = final[0].qualifier
    if qualifier == "+":
        report.problems.append(error("%s: +all authorises every host on the internet" % node.domain))
    elif qualifier == "?" and is_root:
        report.problems.append(warning("%s: ?all gives unlisted hosts neutral, which protects nothing" % node.domain))


class _Budget:
    def __init__(self) -> None:
        self.lookups = 0

    def spend(self) -> bool:
        self.lookups += 1
        return self.lookups <= MAX_DNS_LOOKUPS


def check_host(root: SpfNode, address: str) -> str:
    """Return the SPF result for mail from `address` (RFC 7208 section 2.6).

    Results are pass, fail, softfail, neutral, none, permerror and
    temperror, plus "unknown" when a term reached depends on the message
    (macros, ptr), which fetched data alone cannot decide.
    """
    return host_result(root, ipaddress.ip_address(address), _Budget(), is_root=True)


def host_result(node: SpfNode, address, budget: _Budget, *, is_root: bool) -> str:
    if node.txt.failed:
        return "temperror"
    if len(node.record_texts) > 1:
        return "permerror"
    if node.record is None:
        return "none"
    if node.record.problems:
        return "permerror"
    for position, term in enumerate(node.record.mechanisms):
        matched = term_matches(node, position, term, address, budget)
        if matched in ("permerror", "temperror", "unknown"):
            return matched
        if matched == "match":
            return QUALIFIER_RESULTS[term.qualifier]
    if node.record.redirect is None:
        return "neutral"
    if not budget.spend() or len(node.record.mechanisms) in node.loops:
        return "permerror"
    child = node.children.get(len(node.record.mechanisms))
    if child is None:
        return "unknown"
    result = host_result(child, address, budget, is_root=False)
    return "permerror" if result == "none" else result


def term_matches(node: SpfNode, position: int, term: Term, address, budget: _Budget) -> str:
    if term.name == "all":
        return "match"
    if term.name in ("ip4", "ip6"):
        return "match" if address in ipaddress.ip_network(term.argument) else "no"
    if not budget.spend():
        return "permerror"
    if term.has_macro or term.name == "ptr":
        return "unknown"
    if term.name == "include":
        if position in node.loops:
            return "permerror"
        child = node.children.get(position)
        if child is None:
            return "unknown"
        result = host_result(child, address, budget, is_root=False)
        # RFC 7208 section 5.2: include matches only on pass; none becomes permerror.
        return {"pass": "match", "none": "permerror", "permerror": "permerror", "temperror": "temperror", "unknown": "unknown"}.get(result, "no")
    lookups = node.term_lookups.get(position, ())
    if any(lookup.failed for lookup in lookups):
        return "temperror"
    if term.name == "exists":
        return "match" if lookups and lookups[0].records else "no"
    addresses = [record for lookup in lookups if lookup.rdtype in ("A", "AAAA") for record in lookup.records]
    return "match" if any(in_prefix(address, candidate, term) for candidate in addresses) else "no"


def in_prefix(address, candidate: str, term: Term) -> bool:
    other = ipaddress.ip_address(candidate)
    if other.version != address.version:
        return False
    prefix = term.cidr4 if address.version == 4 else term.cidr6
    if prefix is None:
        return other == address
    return address in ipaddress.ip_network("%s/%d" % (other, prefix), strict=False)
