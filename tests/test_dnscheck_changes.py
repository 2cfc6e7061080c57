"""Change detection over successive DNS check results."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.dnscheck.auth import CHECK_NAMES, DomainReport
from inboxwatch.dnscheck.blocklists import Category
from inboxwatch.dnscheck.changes import (
    DKIM_SELECTOR_RULE,
    DMARC_POLICY_RULE,
    LIST_HEALTH_RULE,
    RECORD_RULE,
    LISTING_RULE,
    RESOLVER_RULE,
    SPF_LOOKUPS_RULE,
    ListingObservation,
    health_signals,
    track_auth,
    track_listing,
)
from inboxwatch.dnscheck.dnsbl import Health, Status
from inboxwatch.dnscheck.findings import finish, lookup_failure, missing
from inboxwatch.model.alerts import Severity

START = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
TENANT = "default"


def seen(status, categories=(Category.REPUTATION,)):
    codes = ("127.0.0.2",) if status is Status.LISTED else ()
    return ListingObservation("203.0.113.10", "spamhaus-zen", status, codes, "Spamhaus SBL", categories)


def run_listing(statuses):
    """Feed one status per hour and return the state and signals after each."""
    state, history = None, []
    for hour, status in enumerate(statuses):
        state, signals = track_listing(state, seen(status), START + timedelta(hours=hour), TENANT)
        history.append((state, signals))
    return history


def test_listing_first_sighting_raises_nothing():
    ((state, signals),) = run_listing([Status.LISTED])
    assert signals == []
    assert state.confirmations == 1


def test_listing_second_confirmation_breaches():
    (_, (state, signals)) = run_listing([Status.LISTED, Status.LISTED])
    (signal,) = signals
    assert signal.rule == LISTING_RULE
    assert signal.breached
    assert signal.summary == "203.0.113.10 listed on spamhaus-zen (Spamhaus SBL)"
    assert signal.labels == {"tenant": TENANT, "sending_ip": "203.0.113.10", "list": "spamhaus-zen"}
    assert state.first_detected_at == START


def test_listing_delisting_clears():
    history = run_listing([Status.LISTED, Status.LISTED, Status.CLEAR])
    state, (signal,) = history[-1]
    assert not signal.breached
    assert state.delisted_at == START + timedelta(hours=2)


def test_listing_blip_never_signals():
    history = run_listing([Status.LISTED, Status.CLEAR, Status.LISTED])
    assert all(signals == [] for _, signals in history)
    assert history[-1][0].first_detected_at == START + timedelta(hours=2)


def test_listing_unknown_keeps_state():
    history = run_listing([Status.LISTED, Status.UNKNOWN, Status.LISTED])
    assert history[1][1] == []
    assert history[1][0].confirmations == 1
    assert history[2][0].confirmations == 2


@pytest.mark.parametrize(
    "categories, severity",
    [
        pytest.param((Category.REPUTATION,), Severity.CRITICAL, id="reputation"),
        pytest.param((Category.POLICY,), Severity.WARNING, id="policy-pbl"),
        pytest.param((Category.INFORMATIONAL,), Severity.INFO, id="informational-uceprotect-2"),
    ],
)
def test_listing_severity_by_category(categories, severity):
    state, _ = track_listing(None, seen(Status.LISTED, categories), START, TENANT)
    _, (signal,) = track_listing(state, seen(Status.LISTED, categories), START + timedelta(hours=1), TENANT)
    assert signal.severity is severity


def test_health_all_unreachable_one_resolver_signal():
    signals = health_signals({"a": Health.UNREACHABLE, "b": Health.UNREACHABLE}, START, TENANT)
    assert [(signal.rule, signal.breached) for signal in signals] == [(RESOLVER_RULE, True)]


def test_health_one_broken_list_signal():
    signals = health_signals({"a": Health.HEALTHY, "b": Health.REFUSING}, START, TENANT)
    breached = [signal for signal in signals if signal.breached]
    (signal,) = breached
    assert signal.rule == LIST_HEALTH_RULE
    assert signal.labels["list"] == "b"
    assert signal.summary == "blocklist b is refusing, so its results are unknown"


def report(lookups=3, policy="reject", selector_present=True, spf_failed=False):
    checks = {name: finish("v=x", []) for name in CHECK_NAMES}
    checks["spf"] = lookup_failure("example.com", "TXT", "timeout", lookups=0, void_lookups=0) if spf_failed else finish("v=spf1", [], lookups=lookups, void_lookups=0)
    checks["dmarc"] = finish("v=DMARC1", [], policy=policy)
    selector = finish("v=DKIM1", [], selector="s1") if selector_present else missing("gone", selector="s1")
    return DomainReport("example.com", checks, {}, {"s1": selector})


def signals_by_rule(signals):
    return {signal.rule: signal for signal in signals}


def test_auth_spf_over_limit_summary():
    _, signals = track_auth(None, report(lookups=11), START, TENANT)
    signal = signals_by_rule(signals)[SPF_LOOKUPS_RULE]
    assert signal.breached
    assert signal.summary == "SPF for example.com now needs 11 lookups"


def test_auth_spf_timeout_no_signal():
    state, _ = track_auth(None, report(lookups=4), START, TENANT)
    state, signals = track_auth(state, report(spf_failed=True), START, TENANT)
    assert SPF_LOOKUPS_RULE not in signals_by_rule(signals)
    assert state.spf_lookups == 4


def test_auth_dkim_selector_removed():
    state, _ = track_auth(None, report(), START, TENANT)
    _, signals = track_auth(state, report(selector_present=False), START, TENANT)
    signal = signals_by_rule(signals)[DKIM_SELECTOR_RULE]
    assert signal.breached
    assert signal.summary == "DKIM selector s1 no longer published"


def test_auth_dmarc_weakened_then_restored():
    state, signals = track_auth(None, report(policy="reject"), START, TENANT)
    assert DMARC_POLICY_RULE not in signals_by_rule(signals)
    state, signals = track_auth(state, report(policy="none"), START, TENANT)
    weakened = signals_by_rule(signals)[DMARC_POLICY_RULE]
    assert weakened.breached
    assert weakened.summary == "DMARC policy changed from reject to none"
    state, signals = track_auth(state, report(policy="quarantine"), START, TENANT)
    assert signals_by_rule(signals)[DMARC_POLICY_RULE].breached
    state, signals = track_auth(state, report(policy="reject"), START, TENANT)
    assert not signals_by_rule(signals)[DMARC_POLICY_RULE].breached
    assert state.dmarc_baseline is None


def test_auth_unknown_record_neither_breaches_nor_resolves():
    failing = report()
    failing.checks["mx"] = lookup_failure("example.com", "MX", "servfail", hosts=[])
    _, signals = track_auth(None, failing, START, TENANT)
    checked = {signal.labels.get("check") for signal in signals if signal.rule == RECORD_RULE}
    assert "mx" not in checked
    assert "spf" in checked


def test_auth_dmarc_policy_tracked_despite_failed_authorisation():
    state, _ = track_auth(None, report(policy="reject"), START, TENANT)
    weakened = report(policy="none")
    weakened.checks["dmarc"] = finish("v=DMARC1; p=none", [], reason="DNS lookup of x TXT failed: timeout", policy="none")
    _, signals = track_auth(state, weakened, START, TENANT)
    assert signals_by_rule(signals)[DMARC_POLICY_RULE].breached
