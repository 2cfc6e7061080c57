"""Turn successive DNS check results into signals. Pure: states in, states and signals out.

A blocklist listing becomes a breached signal only after two consecutive
checks saw it, because a single listing can be a list's mistake that it corrects
within minutes. A delisting clears it. Unknown results change nothing: a
broken list or resolver raises its own operator signal instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from inboxwatch.dnscheck.auth import DomainReport
from inboxwatch.dnscheck.blocklists import Category
from inboxwatch.dnscheck.dnsbl import Health, Status
from inboxwatch.dnscheck.findings import CheckStatus
from inboxwatch.dnscheck.spf import MAX_DNS_LOOKUPS
from inboxwatch.model.alerts import Severity, Signal

LISTING_CONFIRMATIONS = 2

LISTING_RULE = "dns_blocklist_listed"
LIST_HEALTH_RULE = "dns_blocklist_health"
RESOLVER_RULE = "dns_resolver_failing"
SPF_LOOKUPS_RULE = "dns_spf_lookup_limit"
DKIM_SELECTOR_RULE = "dns_dkim_selector_missing"
DMARC_POLICY_RULE = "dns_dmarc_policy_weakened"
RECORD_RULE = "dns_auth_record_invalid"

POLICY_STRENGTH = {"none": 0, "quarantine": 1, "reject": 2}


@dataclasses.dataclass(frozen=True)
class ListingState:
    """One asset's listing on one list, from first detection to delisting."""

    asset: str
    list_name: str
    first_detected_at: datetime
    last_checked_at: datetime
    confirmations: int
    codes: tuple[str, ...] = ()
    meaning: str = ""
    delisted_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.confirmations >= LISTING_CONFIRMATIONS


@dataclasses.dataclass(frozen=True)
class ListingObservation:
    """The fields of one `ListingResult` that change detection needs."""

    asset: str
    list_name: str
    status: Status
    codes: tuple[str, ...] = ()
    meaning: str = ""
    categories: tuple[Category, ...] = ()


def listing_severity(categories: Sequence[Category]) -> Severity:
    if Category.REPUTATION in categories or not categories:
        return Severity.CRITICAL
    if Category.POLICY in categories:
        return Severity.WARNING
    return Severity.INFO


def asset_label(asset: str) -> str:
    return "sending_domain" if any(character.isalpha() for character in asset) and ":" not in asset else "sending_ip"


def track_listing(
    previous: ListingState | None, seen: ListingObservation, now: datetime, tenant: str
) -> tuple[ListingState | None, list[Signal]]:
    """Advance one asset-and-list state by one check and return the signals it raises."""
    open_listing = previous if previous is not None and previous.delisted_at is None else None
    if seen.status is Status.UNKNOWN:
        if open_listing is None:
            return previous, []
        return dataclasses.replace(open_listing, last_checked_at=now), []

    labels = {"tenant": tenant, asset_label(seen.asset): seen.asset, "list": seen.list_name}
    if seen.status is Status.CLEAR:
        if open_listing is None:
            return previous, []
        state = dataclasses.replace(open_listing, last_checked_at=now, delisted_at=now)
        if not open_listing.confirmed:
            return state, []
        summary = "%s delisted from %s" % (seen.asset, seen.list_name)
        return state, [Signal(LISTING_RULE, Severity.CRITICAL, labels, False, now, summary=summary)]

    if open_listing is None:
        state = ListingState(seen.asset, seen.list_name, now, now, 1, seen.codes, seen.meaning)
    else:
        state = dataclasses.replace(open_listing, last_checked_at=now, confirmations=open_listing.confirmations + 1, codes=seen.codes, meaning=seen.meaning)
    if not state.confirmed:
        return state, []
    summary = "%s listed on %s" % (seen.asset, seen.list_name)
    if seen.meaning:
        summary += " (%s)" % seen.meaning
    annotations = {"codes": list(seen.codes), "first_detected_at": state.first_detected_at.isoformat()}
    signal = Signal(LISTING_RULE, listing_severity(seen.categories), labels, True, now, summary=summary, annotations=annotations)
    return state, [signal]


def health_signals(healths: Mapping[str, Health], now: datetime, tenant: str) -> list[Signal]:
    """Raise one operator signal for the resolver when every list is unreachable, else one per unhealthy list."""
    if not healths:
        return []
    if all(health is Health.UNREACHABLE for health in healths.values()):
        summary = "the DNS resolver answered no blocklist query; every blocklist result is unknown"
        return [Signal(RESOLVER_RULE, Severity.CRITICAL, {"tenant": tenant}, True, now, summary=summary)]
    signals = [Signal(RESOLVER_RULE, Severity.CRITICAL, {"tenant": tenant}, False, now)]
    for name, health in sorted(healths.items()):
        breached = health is not Health.HEALTHY
        summary = "blocklist %s is %s, so its results are unknown" % (name, health.value.replace("_", " ")) if breached else ""
        signals.append(Signal(LIST_HEALTH_RULE, Severity.WARNING, {"tenant": tenant, "list": name}, breached, now, summary=summary))
    return signals


@dataclasses.dataclass(frozen=True)
class AuthState:
    """The state of one domain's authentication records kept between check runs."""

    domain: str
    spf_lookups: int | None = None
    dkim_published: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    dmarc_policy: str | None = None
    # The policy before a weakening, kept until it is restored.
    dmarc_baseline: str | None = None


def track_auth(previous: AuthState | None, report: DomainReport, now: datetime, tenant: str) -> tuple[AuthState, list[Signal]]:
    """Compare a domain's report with the previous state; a check with status unknown changes nothing."""
    domain = report.domain
    state = previous or AuthState(domain)
    labels = {"tenant": tenant, "sending_domain": domain}
    signals: list[Signal] = []

    spf_lookups = state.spf_lookups
    spf = report.checks["spf"]
    if not spf.lookup_failed and spf.status is not CheckStatus.MISSING:
        spf_lookups = spf.details["lookups"]
        breached = spf_lookups > MAX_DNS_LOOKUPS
        summary = "SPF for %s now needs %d lookups" % (domain, spf_lookups) if breached else ""
        signals.append(Signal(SPF_LOOKUPS_RULE, Severity.CRITICAL, labels, breached, now, value=spf_lookups, threshold=MAX_DNS_LOOKUPS, summary=summary))

    published = dict(state.dkim_published)
    for selector, check in report.dkim_selectors.items():
        if check.lookup_failed:
            continue
        now_published = check.status is not CheckStatus.MISSING
        was_published = published.get(selector)
        published[selector] = now_published
        summary = ""
        if not now_published:
            summary = "DKIM selector %s no longer published" % selector if was_published else "DKIM selector %s not published" % selector
        signals.append(Signal(DKIM_SELECTOR_RULE, Severity.CRITICAL, {**labels, "selector": selector}, not now_published, now, summary=summary))

    policy, baseline = state.dmarc_policy, state.dmarc_baseline
    dmarc = report.checks["dmarc"]
    # The policy is known once the record was read, even if a report
    # destination's authorisation lookup failed afterwards.
    if dmarc.record is not None or not dmarc.lookup_failed:
        current = dmarc.details.get("policy") if dmarc.status is not CheckStatus.MISSING else None
        policy, baseline, signal = track_dmarc_policy(state, current, labels, now)
        if signal is not None:
            signals.append(signal)

    for name in ("spf", "dmarc", "mta_sts", "tls_rpt", "mx"):
        check = report.checks[name]
        # Unknown is no information. An error found before a lookup failed
        # is certain, so it still breaches, but only a complete check resolves.
        if check.status is CheckStatus.UNKNOWN:
            continue
        breached = check.status is CheckStatus.ERROR
        summary = "%s for %s: %s" % (name.upper().replace("_", "-"), domain, check.problems[0].text) if breached and check.problems else ""
        signals.append(Signal(RECORD_RULE, Severity.WARNING, {**labels, "check": name}, breached, now, summary=summary))

    return AuthState(domain, spf_lookups, published, policy, baseline), signals


def track_dmarc_policy(state: AuthState, policy: str | None, labels: Mapping[str, str], now: datetime) -> tuple[str | None, str | None, Signal | None]:
    """Hold the policy from before a weakening as the baseline until a policy at least as strong returns."""
    baseline = state.dmarc_baseline
    previous = state.dmarc_policy
    if previous is not None and strength(policy) < strength(previous) and baseline is None:
        baseline = previous
    if baseline is None:
        return policy, None, None
    if strength(policy) >= strength(baseline):
        return policy, None, Signal(DMARC_POLICY_RULE, Severity.WARNING, labels, False, now)
    summary = "DMARC policy changed from %s to %s" % (baseline, policy or "no record")
    return policy, baseline, Signal(DMARC_POLICY_RULE, Severity.WARNING, labels, True, now, summary=summary)


def strength(policy: str | None) -> int:
    return POLICY_STRENGTH.get(policy or "", -1)
