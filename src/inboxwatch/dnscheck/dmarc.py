"""DMARC records (RFC 7489 and the DMARCbis draft's np, t and psd tags): tags and report authorisation."""

from __future__ import annotations

import re

from inboxwatch.dnscheck.dnsbl import registered_domain
from inboxwatch.dnscheck.findings import Problem, RecordCheck, error, finish, lookup_failure, missing, warning
from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.dnscheck.tags import first_tag_is, parse_tags
from inboxwatch.errors import CheckError

POLICIES = ("none", "quarantine", "reject")
ENUMERATED_TAGS = {
    "p": POLICIES,
    "sp": POLICIES,
    "np": POLICIES,
    "adkim": ("r", "s"),
    "aspf": ("r", "s"),
    "t": ("y", "n"),
    "psd": ("y", "n", "u"),
    "rf": ("afrf",),
}
KNOWN_TAGS = frozenset(ENUMERATED_TAGS) | {"v", "pct", "rua", "ruf", "fo", "ri"}
FAILURE_OPTIONS = frozenset({"0", "1", "d", "s"})
# RFC 7489 section 6.2: a report URI is mailto: with an optional "!size" suffix.
_MAILTO = re.compile(r"^mailto:([^@\s!]+)@([^@\s!]+?)(?:!\d+[kmgt]?)?$", re.IGNORECASE)


def parse_report_uris(tag: str, value: str) -> tuple[list[str], list[Problem]]:
    """Return the destination domains of a rua or ruf list, and problems with its URIs."""
    domains: list[str] = []
    problems: list[Problem] = []
    for uri in value.split(","):
        uri = uri.strip()
        match = _MAILTO.match(uri)
        if not match:
            problems.append(error("%s: invalid report address %r, expected mailto:user@domain" % (tag, uri)))
            continue
        domains.append(match.group(2).lower().rstrip("."))
    return domains, problems


def judge_record(domain: str, text: str) -> tuple[RecordCheck, list[str]]:
    """Judge a DMARC record and return it with the report domains that need authorisation checks."""
    problems: list[Problem] = []
    if not first_tag_is(text, "v", "DMARC1"):
        problems.append(error("record must start with v=DMARC1 (RFC 7489 section 6.4)"))
    tags, tag_problems = parse_tags(text)
    problems.extend(tag_problems)

    if "p" not in tags:
        problems.append(error("p= tag missing: the policy is required (RFC 7489 section 6.3)"))
    for tag, allowed in ENUMERATED_TAGS.items():
        if tag in tags and tags[tag].lower() not in allowed:
            problems.append(error("%s=%s is invalid, expected one of %s" % (tag, tags[tag], ", ".join(allowed))))
    for tag in sorted(set(tags) - KNOWN_TAGS):
        problems.append(warning("unknown tag %s= is ignored by receivers" % tag))
    problems.extend(judge_numbers(tags))

    policy = tags.get("p", "").lower()
    if policy == "none":
        problems.append(warning("p=none only monitors: receivers take no action on failing mail"))

    report_domains: list[str] = []
    for tag in ("rua", "ruf"):
        if tag in tags:
            found, uri_problems = parse_report_uris(tag, tags[tag])
            report_domains.extend(found)
            problems.extend(uri_problems)
    if "rua" not in tags:
        problems.append(warning("no rua= tag: no aggregate reports will be sent"))

    details = {"policy": policy or None, "tags": {key: value for key, value in tags.items()}}
    return finish(text, problems, **details), report_domains


def judge_numbers(tags: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    if "pct" in tags:
        if not tags["pct"].isdigit() or int(tags["pct"]) > 100:
            problems.append(error("pct=%s is invalid, expected a whole number from 0 to 100" % tags["pct"]))
        elif int(tags["pct"]) < 100:
            problems.append(warning("pct=%s applies the policy to part of the failing mail only; DMARCbis drops pct for t=y" % tags["pct"]))
    if "ri" in tags and not tags["ri"].isdigit():
        problems.append(error("ri=%s is invalid, expected seconds as a whole number" % tags["ri"]))
    if "fo" in tags:
        options = [option.strip() for option in tags["fo"].split(":")]
        bad = [option for option in options if option not in FAILURE_OPTIONS]
        if bad:
            problems.append(error("fo=%s is invalid, expected 0, 1, d or s separated by colons" % tags["fo"]))
    return problems


def organizational_domain(domain: str) -> str:
    try:
        return registered_domain(domain)
    except CheckError:
        return domain


async def fetch_record(resolver: Resolver, domain: str) -> tuple[str, object]:
    """Find the record at _dmarc.DOMAIN, falling back to the organisational domain (RFC 7489 section 6.6.3)."""
    candidates = [domain]
    organization = organizational_domain(domain)
    if organization != domain:
        candidates.append(organization)
    lookup = None
    for candidate in candidates:
        name = "_dmarc." + candidate
        lookup = await resolver.query(name, "TXT")
        if lookup.failed:
            return name, lookup
        records = [text for text in lookup.records if text.lower().replace(" ", "").startswith("v=dmarc1")]
        if records:
            return name, records
    return "_dmarc." + domain, []


async def report_authorised(resolver: Resolver, domain: str, destination: str) -> bool | None:
    """Ask whether `destination` accepts DMARC reports about `domain` (RFC 7489 section 7.1)."""
    lookup = await resolver.query("%s._report._dmarc.%s" % (domain, destination), "TXT")
    if lookup.failed:
        return None
    return any(text.strip().lower().startswith("v=dmarc1") for text in lookup.records)


async def check_dmarc(resolver: Resolver, domain: str) -> RecordCheck:
    name, found = await fetch_record(resolver, domain)
    if not isinstance(found, list):
        return lookup_failure(name, "TXT", found.outcome.value)
    if not found:
        return missing("no DMARC record at _dmarc.%s or at the organisational domain" % domain)
    if len(found) > 1:
        return finish(found, [error("%s has %d DMARC records; receivers ignore them all (RFC 7489 section 6.6.3)" % (name, len(found)))])

    check, destinations = judge_record(domain, found[0])
    problems = list(check.problems)
    failures = []
    # RFC 7489 section 7.1: the destination authorises the domain that published the record.
    publisher = name.removeprefix("_dmarc.")
    own_organization = organizational_domain(publisher)
    for destination in sorted(set(destinations)):
        if organizational_domain(destination) == own_organization:
            continue
        authorised = await report_authorised(resolver, publisher, destination)
        if authorised is None:
            failures.append("DNS lookup of %s._report._dmarc.%s TXT failed, so whether %s accepts the reports is not known" % (publisher, destination, destination))
        elif not authorised:
            problems.append(error("%s does not accept DMARC reports for %s: %s._report._dmarc.%s is not published" % (destination, publisher, publisher, destination)))
    return finish(check.record, problems, reason="; ".join(failures), found_at=name, **check.details)
