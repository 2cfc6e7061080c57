"""The authentication-record check of one sending domain: SPF, DKIM, DMARC, MTA-STS, TLS-RPT, BIMI, MX and PTR."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import Sequence

from inboxwatch.dnscheck import spf
from inboxwatch.dnscheck.dkim import check_selector
from inboxwatch.dnscheck.dmarc import check_dmarc
from inboxwatch.dnscheck.findings import CheckStatus, Problem, RecordCheck, error, finish, lookup_failure, missing
from inboxwatch.dnscheck.mailhosts import check_mx, check_ptr
from inboxwatch.dnscheck.mtasts import DEFAULT_POLICY_URL, check_mta_sts
from inboxwatch.dnscheck.reporting import check_bimi, check_tls_rpt
from inboxwatch.dnscheck.resolver import Resolver
from inboxwatch.dnscheck.spf_fetch import fetch_tree

# The order of the members in the JSON output.
CHECK_NAMES = ("spf", "dkim", "dmarc", "mta_sts", "tls_rpt", "bimi", "mx")


@dataclasses.dataclass(frozen=True)
class AuthOptions:
    dkim_selectors: tuple[str, ...] = ()
    sending_ips: tuple[str, ...] = ()
    mta_sts_policy_url: str = DEFAULT_POLICY_URL
    mta_sts_verify: ssl.SSLContext | bool = True


@dataclasses.dataclass(frozen=True)
class DomainReport:
    domain: str
    checks: dict[str, RecordCheck]
    ptr: dict[str, RecordCheck] = dataclasses.field(default_factory=dict)
    # Each selector's own check; `checks["dkim"]` folds them into one member.
    dkim_selectors: dict[str, RecordCheck] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict:
        output = {"domain": self.domain}
        output.update({name: self.checks[name].to_json() for name in CHECK_NAMES})
        if self.ptr:
            output["ptr"] = {address: check.to_json() for address, check in self.ptr.items()}
        return output


async def check_spf(resolver: Resolver, domain: str, sending_ips: Sequence[str]) -> RecordCheck:
    tree = await fetch_tree(resolver, domain)
    if tree.txt.failed:
        return lookup_failure(domain, "TXT", tree.txt.outcome.value, lookups=0, void_lookups=0)
    if not tree.record_texts:
        return missing("%s publishes no SPF record" % domain, lookups=0, void_lookups=0)
    report = spf.evaluate(tree)
    problems: list[Problem] = list(report.problems)
    if tree.truncated:
        problems.append(error("SPF tree of %s is too large to fetch in full; counts are a lower bound" % domain))
    results = {address: spf.check_host(tree, address) for address in sending_ips}
    for address, result in results.items():
        # temperror comes from a failed lookup, already in the reason.
        if result not in ("pass", "unknown", "temperror"):
            problems.append(error("sending IP %s is not authorised by SPF for %s: result %s" % (address, domain, result)))
    record = tree.record_texts[0] if len(tree.record_texts) == 1 else list(tree.record_texts)
    details = {"lookups": report.lookups, "void_lookups": report.void_lookups}
    if sending_ips:
        details["authorised"] = results
    return finish(record, problems, reason="; ".join(report.failures), **details)


def combine_dkim(checks: Sequence[RecordCheck]) -> RecordCheck:
    """Fold per-selector checks into one member: the worst status, every problem."""
    if not checks:
        return missing("no DKIM selector given: selectors cannot be discovered from DNS, pass --dkim-selector", selectors={})
    # A certain finding outranks a selector whose lookup failed.
    order = [CheckStatus.OK, CheckStatus.WARNING, CheckStatus.UNKNOWN, CheckStatus.MISSING, CheckStatus.ERROR]
    status = max((check.status for check in checks), key=order.index)
    selectors = {check.details["selector"]: check.to_json() | {key: value for key, value in check.details.items() if key != "selector"} for check in checks}
    problems = tuple(problem for check in checks for problem in check.problems)
    records = {check.details["selector"]: check.record for check in checks}
    reason = "; ".join(check.reason for check in checks if check.reason)
    return RecordCheck(status, records, problems, reason, {"selectors": selectors})


async def check_domain(resolver: Resolver, domain: str, options: AuthOptions) -> DomainReport:
    spf_check, dmarc_check, mx_check, tls_rpt_check, *dkim_checks = await asyncio.gather(
        check_spf(resolver, domain, options.sending_ips),
        check_dmarc(resolver, domain),
        check_mx(resolver, domain),
        check_tls_rpt(resolver, domain),
        *(check_selector(resolver, domain, selector) for selector in options.dkim_selectors),
    )
    mta_sts_check, bimi_check = await asyncio.gather(
        check_mta_sts(resolver, domain, mx_check.details.get("hosts", []), policy_url=options.mta_sts_policy_url, verify=options.mta_sts_verify),
        check_bimi(resolver, domain, dmarc_check.details.get("policy"), dmarc_known=not dmarc_check.lookup_failed),
    )
    ptr_checks = await asyncio.gather(*(check_ptr(resolver, address) for address in options.sending_ips))
    checks = {
        "spf": spf_check,
        "dkim": combine_dkim(dkim_checks),
        "dmarc": dmarc_check,
        "mta_sts": mta_sts_check,
        "tls_rpt": tls_rpt_check,
        "bimi": bimi_check,
        "mx": mx_check,
    }
    return DomainReport(domain, checks, dict(zip(options.sending_ips, ptr_checks)), dict(zip(options.dkim_selectors, dkim_checks)))
