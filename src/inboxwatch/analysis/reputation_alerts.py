"""Alert signals from the providers' reputation data: pure, over rows the store returned.

Rules and their levels:
- `postmaster_spam_rate`: Gmail's user-reported spam rate of the latest day
  above `spam_rate_warning` (0.1%) or `spam_rate_critical` (0.3%), the
  levels of Google's bulk sender guidelines (support.google.com/mail/answer/81126).
- `postmaster_auth_success`: SPF, DKIM or DMARC success rate under `auth_success_warning`.
- `postmaster_domain_reputation`, `postmaster_ip_reputation`: reputation a
  level or more worse than the day before; critical when it reaches BAD.
- `snds_filter_result`: YELLOW (warning) or RED (critical) in an IP's latest SNDS period.
- `snds_trap_hits`: spam trap hits in an IP's latest SNDS period.
- `snds_blocked`: a range in the latest SNDS IP status snapshot is blocked.
- `sender_score_low`: a Sender Score under `sender_score_warning`.
A metric the feed did not report produces no signal, never a clear one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inboxwatch.analysis.rules import percent
from inboxwatch.model.alerts import Severity, Signal
from inboxwatch.model.reputation import REPUTATION_RANK, Reputation

AUTH_FIELDS = (("spf", "spf_success_rate"), ("dkim", "dkim_success_rate"), ("dmarc", "dmarc_success_rate"))

Row = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ReputationThresholds:
    """Alert levels on reputation data, as fractions except the Sender Score (0 to 100)."""

    spam_rate_warning: float = 0.001
    spam_rate_critical: float = 0.003
    auth_success_warning: float = 0.98
    sender_score_warning: int = 70


def signal(rule: str, severity: Severity, labels: dict[str, str], at: datetime, summary: str, **values: Any) -> Signal:
    return Signal(
        rule=rule,
        severity=severity,
        labels=labels,
        breached=severity != Severity.INFO,
        time=at,
        value=values.pop("value", None),
        threshold=values.pop("threshold", None),
        summary=summary,
        annotations=values,
    )


def postmaster_signals(days: Sequence[Row], tenant: str, thresholds: ReputationThresholds, at: datetime) -> list[Signal]:
    """Judge each domain's latest day (and the day before, for reputation changes); `days` is newest first per domain."""
    by_domain: dict[str, list[Row]] = {}
    for row in days:
        by_domain.setdefault(row["domain"], []).append(row)
    signals: list[Signal] = []
    for domain, rows in by_domain.items():
        latest = rows[0]
        previous = rows[1] if len(rows) > 1 else None
        labels = {"tenant": tenant, "provider": "gmail", "sending_domain": domain}
        day = str(latest["day"])
        spam = latest.get("spam_rate")
        if spam is not None:
            if spam > thresholds.spam_rate_critical:
                severity, level = Severity.CRITICAL, thresholds.spam_rate_critical
            elif spam > thresholds.spam_rate_warning:
                severity, level = Severity.WARNING, thresholds.spam_rate_warning
            else:
                severity, level = Severity.INFO, thresholds.spam_rate_warning
            relation = "above" if severity != Severity.INFO else "not above"
            summary = "Gmail spam rate for %s %s on %s, %s Google's %s guidance" % (domain, percent(spam), day, relation, percent(level))
            signals.append(signal("postmaster_spam_rate", severity, labels, at, summary, value=spam, threshold=level, day=day))
        for name, field in AUTH_FIELDS:
            rate = latest.get(field)
            if rate is None:
                continue
            low = rate < thresholds.auth_success_warning
            summary = "Gmail %s success rate for %s %s on %s, %s the %s minimum" % (
                name.upper(), domain, percent(rate), day, "under" if low else "not under", percent(thresholds.auth_success_warning)
            )
            signals.append(
                signal(
                    "postmaster_auth_success",
                    Severity.WARNING if low else Severity.INFO,
                    {**labels, "auth": name},
                    at,
                    summary,
                    value=rate,
                    threshold=thresholds.auth_success_warning,
                    day=day,
                )
            )
        if previous is not None:
            signals.extend(reputation_change("postmaster_domain_reputation", "domain", labels, latest.get("domain_reputation"), previous.get("domain_reputation"), domain, day, at))
            signals.extend(
                reputation_change("postmaster_ip_reputation", "IP", labels, worst_ip_reputation(latest), worst_ip_reputation(previous), domain, day, at)
            )
    return signals


def worst_ip_reputation(row: Row) -> str | None:
    categories = [entry.get("reputation") for entry in row.get("ip_reputations") or [] if int(entry.get("ip_count") or 0) > 0]
    known = [Reputation(value) for value in categories if value in Reputation.__members__]
    return max(known, key=REPUTATION_RANK.__getitem__).value if known else None


def reputation_change(rule: str, what: str, labels: dict[str, str], now_value: str | None, before: str | None, domain: str, day: str, at: datetime) -> list[Signal]:
    if now_value is None or before is None or now_value not in Reputation.__members__ or before not in Reputation.__members__:
        return []
    current, earlier = Reputation(now_value), Reputation(before)
    dropped = REPUTATION_RANK[current] > REPUTATION_RANK[earlier]
    if not dropped:
        severity = Severity.INFO
    elif current is Reputation.BAD:
        severity = Severity.CRITICAL
    else:
        severity = Severity.WARNING
    summary = "Gmail %s reputation for %s %s on %s (was %s)" % (what, domain, current.value, day, earlier.value)
    return [signal(rule, severity, labels, at, summary, reputation=current.value, previous=earlier.value, day=day)]


def snds_signals(latest: Sequence[Row], blocked: Sequence[Row], tenant: str, at: datetime) -> list[Signal]:
    """Judge each IP's latest SNDS period and the latest IP status snapshot's blocked ranges."""
    signals: list[Signal] = []
    for row in latest:
        labels = {"tenant": tenant, "provider": "microsoft", "sending_ip": row["ip"]}
        period = "%s to %s" % (row["activity_start"], row["activity_end"])
        result = row["filter_result"]
        severity = {"GREEN": Severity.INFO, "YELLOW": Severity.WARNING, "RED": Severity.CRITICAL}.get(result, Severity.INFO)
        summary = "SNDS filter result for %s %s (%s), complaint rate %s" % (row["ip"], result, period, row["complaint_rate_text"])
        signals.append(signal("snds_filter_result", severity, labels, at, summary, filter_result=result, period=period))
        hits = int(row["trap_hits"] or 0)
        summary = "SNDS reports %d spam trap hits for %s (%s)" % (hits, row["ip"], period)
        signals.append(signal("snds_trap_hits", Severity.WARNING if hits else Severity.INFO, labels, at, summary, value=float(hits), period=period))
    for row in blocked:
        if not row["blocked"]:
            continue
        ips = row["first_ip"] if row["first_ip"] == row["last_ip"] else "%s-%s" % (row["first_ip"], row["last_ip"])
        labels = {"tenant": tenant, "provider": "microsoft", "sending_ip": ips}
        # NOTE: a range that disappears from a later snapshot gets no clear signal, so its alert must be resolved by hand.
        signals.append(signal("snds_blocked", Severity.CRITICAL, labels, at, "Microsoft blocks %s: %s" % (ips, row["reason"]), reason=row["reason"]))
    return signals


def sender_score_signals(scores: Sequence[Row], tenant: str, thresholds: ReputationThresholds, at: datetime) -> list[Signal]:
    """Judge each IP's latest Sender Score; an IP without a score gets no signal."""
    signals = []
    for row in scores:
        if row["score"] is None:
            continue
        low = row["score"] < thresholds.sender_score_warning
        summary = "Sender Score for %s is %d, %s the %d minimum" % (row["ip"], row["score"], "under" if low else "not under", thresholds.sender_score_warning)
        labels = {"tenant": tenant, "sending_ip": row["ip"]}
        signals.append(
            signal("sender_score_low", Severity.WARNING if low else Severity.INFO, labels, at, summary, value=float(row["score"]), threshold=float(thresholds.sender_score_warning))
        )
    return signals
