"""TLS-RPT (RFC 8460) and BIMI records: the smaller TXT records a sending domain publishes."""

from __future__ import annotations

from inboxwatch.dnscheck.findings import Level, Problem, RecordCheck, error, finish, lookup_failure, missing, warning
from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.dnscheck.tags import first_tag_is, parse_tags


def judge_tls_rpt(text: str) -> list[Problem]:
    problems: list[Problem] = []
    if not first_tag_is(text, "v", "TLSRPTv1"):
        problems.append(error("TLS-RPT record must start with v=TLSRPTv1 (RFC 8460 section 3)"))
    tags, tag_problems = parse_tags(text)
    problems.extend(tag_problems)
    destinations = [uri.strip() for uri in tags.get("rua", "").split(",") if uri.strip()]
    if not destinations:
        problems.append(error("TLS-RPT record has no rua= destination"))
    for uri in destinations:
        if not (uri.lower().startswith("mailto:") or uri.lower().startswith("https://")):
            problems.append(error("TLS-RPT rua %r is invalid, expected mailto: or https: (RFC 8460 section 3)" % uri))
    return problems


def judge_bimi(text: str, dmarc_policy: str | None, dmarc_known: bool = True) -> list[Problem]:
    problems: list[Problem] = []
    if not first_tag_is(text, "v", "BIMI1"):
        problems.append(error("BIMI record must start with v=BIMI1"))
    tags, tag_problems = parse_tags(text)
    problems.extend(tag_problems)
    logo = tags.get("l", "")
    if logo and not logo.lower().startswith("https://"):
        problems.append(error("BIMI l=%s is invalid: the logo must be served over https" % logo))
    if not logo and not tags.get("a"):
        problems.append(warning("BIMI record has neither a logo (l=) nor a certificate (a=): it declines BIMI"))
    if dmarc_known and dmarc_policy not in ("quarantine", "reject"):
        problems.append(warning("BIMI needs DMARC at p=quarantine or p=reject; the policy is %s" % (dmarc_policy or "missing")))
    return problems


async def single_txt(resolver: Resolver, name: str, prefix: str) -> tuple[str | None, RecordCheck | None]:
    """Fetch the one TXT record at `name` starting with `prefix`, or return the check that ends the lookup."""
    lookup = await resolver.query(name, "TXT")
    if lookup.failed:
        return None, lookup_failure(name, "TXT", lookup.outcome.value)
    records = [text for text in lookup.records if text.lower().replace(" ", "").startswith(prefix.lower())]
    if not records:
        # Both records (TLS-RPT and BIMI) are optional, so their absence is a note.
        return None, missing("no record at %s" % name, level=Level.NOTE)
    if len(records) > 1:
        return None, finish(records, [error("%s has %d records, expected one" % (name, len(records)))])
    return records[0], None


async def check_tls_rpt(resolver: Resolver, domain: str) -> RecordCheck:
    text, ended = await single_txt(resolver, "_smtp._tls." + domain, "v=TLSRPTv1")
    return ended or finish(text, judge_tls_rpt(text))


async def check_bimi(resolver: Resolver, domain: str, dmarc_policy: str | None, *, dmarc_known: bool = True) -> RecordCheck:
    """Check the BIMI record; with `dmarc_known` false (the DMARC lookup failed) the DMARC policy is not judged."""
    text, ended = await single_txt(resolver, "default._bimi." + domain, "v=BIMI1")
    return ended or finish(text, judge_bimi(text, dmarc_policy, dmarc_known))
