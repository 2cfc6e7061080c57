"""DMARC aggregate, DMARC failure and SMTP TLS reports as parsed from their files.

Times are Unix seconds (UTC) exactly as the reporter wrote them, because a
report's date range is part of its identity and some reporters send ranges
that start in 1970 or span years. Enumerated values (results, dispositions,
policy types) are lower-cased; any other text is kept as written.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyPublished:
    """The DMARC record the reporter applied (RFC 7489 appendix C, `PolicyPublishedType`).

    `np`, `testing` and `discovery_method` exist only in DMARCbis reports
    (namespace urn:ietf:params:xml:ns:dmarc-2.0), `pct` only in RFC 7489 ones.
    """

    domain: str | None
    p: str | None = None
    sp: str | None = None
    np: str | None = None
    adkim: str | None = None
    aspf: str | None = None
    pct: int | None = None
    fo: str | None = None
    testing: str | None = None
    discovery_method: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PolicyOverride:
    """A reason the receiver applied a disposition other than the published policy."""

    type: str | None
    comment: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DkimAuthResult:
    """One DKIM signature the receiver checked, aligned or not."""

    domain: str | None
    result: str | None
    selector: str | None = None
    human_result: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SpfAuthResult:
    """One SPF check; `scope` is `mfrom` or `helo`."""

    domain: str | None
    result: str | None
    scope: str | None = None
    human_result: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AggregateRow:
    """One `<record>`: `count` messages from `source_ip` treated alike.

    `dkim` and `spf` are the DMARC-aligned outcomes (`policy_evaluated`);
    `dkim_results` and `spf_results` are the raw authentication checks.
    """

    source_ip: str | None
    count: int
    disposition: str | None
    dkim: str | None
    spf: str | None
    header_from: str | None
    envelope_from: str | None = None
    envelope_to: str | None = None
    reasons: tuple[PolicyOverride, ...] = ()
    dkim_results: tuple[DkimAuthResult, ...] = ()
    spf_results: tuple[SpfAuthResult, ...] = ()

    @property
    def dmarc_pass(self) -> bool:
        """Whether the messages passed DMARC: aligned DKIM or aligned SPF passed (RFC 7489 section 6.6.2)."""
        return self.dkim == "pass" or self.spf == "pass"

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["dmarc_pass"] = self.dmarc_pass
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class AggregateReport:
    """A DMARC aggregate report (RFC 7489 section 7.2, or DMARCbis).

    `warnings` lists what was repaired or ignored to read the report, such as
    malformed XML that was recovered.
    """

    org_name: str | None
    report_id: str
    begin: int
    end: int
    policy: PolicyPublished
    rows: tuple[AggregateRow, ...]
    email: str | None = None
    extra_contact_info: str | None = None
    version: str | None = None
    generator: str | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def messages(self) -> int:
        return sum(row.count for row in self.rows)

    def daily_messages(self) -> list[tuple[date, float]]:
        """Spread the message count over the UTC days of the date range, by seconds covered.

        Reports state no time for individual messages, so a range that spans
        several days is shared out evenly. The shares are fractions and are
        left unrounded so that they still add up to the report's total.
        """
        return spread_over_days(self.begin, self.end, self.messages)

    def to_json(self) -> dict[str, Any]:
        return {
            "org_name": self.org_name,
            "email": self.email,
            "extra_contact_info": self.extra_contact_info,
            "report_id": self.report_id,
            "begin": self.begin,
            "end": self.end,
            "version": self.version,
            "generator": self.generator,
            "errors": list(self.errors),
            "policy_domain": self.policy.domain,
            "policy_published": dataclasses.asdict(self.policy),
            "rows": len(self.rows),
            "messages": self.messages,
            "records": [row.to_json() for row in self.rows],
            "warnings": list(self.warnings),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class ReportTotals:
    """One aggregate report's counts: its range in Unix seconds, its messages, and those passing DMARC."""

    begin: int
    end: int
    messages: int
    dmarc_pass: int


def spread_over_days(begin: int, end: int, count: int) -> list[tuple[date, float]]:
    """Share `count` among the UTC days that [begin, end] covers, in proportion to seconds covered.

    A range with `end` at or before `begin` puts everything on the day of `begin`.
    """
    start = datetime.fromtimestamp(begin, tz=timezone.utc)
    if end <= begin:
        return [(start.date(), float(count))]
    total_seconds = end - begin
    shares = []
    day = start.date()
    while True:
        day_start = max(begin, _day_start_seconds(day))
        day_end = min(end, _day_start_seconds(day + timedelta(days=1)))
        if day_start >= end:
            break
        shares.append((day, count * (day_end - day_start) / total_seconds))
        day += timedelta(days=1)
    return shares


def _day_start_seconds(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


@dataclasses.dataclass(frozen=True, slots=True)
class FailureReport:
    """A DMARC failure report: an ARF report with Feedback-Type auth-failure (RFC 6591).

    The first five fields are those of any ARF report (RFC 5965 section 3.1).
    The `auth_failure`, `dkim_*`, `spf_dns` and `identity_alignment` fields
    are RFC 6591 section 3.1's; the `original_*` header fields come from the
    returned message or its headers. `text_only` is true when the fields were
    read from plain text instead of a `message/feedback-report` part.
    """

    feedback_type: str
    source_ip: str | None = None
    reported_domain: str | None = None
    original_rcpt_to: str | None = None
    original_mail_from: str | None = None
    user_agent: str | None = None
    version: str | None = None
    arrival_date: str | None = None
    reporting_mta: str | None = None
    original_envelope_id: str | None = None
    auth_failure: str | None = None
    authentication_results: str | None = None
    delivery_result: str | None = None
    dkim_domain: str | None = None
    dkim_identity: str | None = None
    dkim_selector: str | None = None
    spf_dns: str | None = None
    identity_alignment: str | None = None
    reported_uri: tuple[str, ...] = ()
    original_message_id: str | None = None
    original_from: str | None = None
    original_subject: str | None = None
    original_date: str | None = None
    text_only: bool = False

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        # In the bounce-reason vocabulary every ARF report, complaint or
        # authentication failure alike, has the reason "feedback".
        data["reason"] = "feedback"
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class TlsFailureDetail:
    """One `failure-details` entry of an SMTP TLS report (RFC 8460 section 4.3)."""

    result_type: str | None
    failed_session_count: int
    sending_mta_ip: str | None = None
    receiving_mx_hostname: str | None = None
    receiving_mx_helo: str | None = None
    receiving_ip: str | None = None
    additional_information: str | None = None
    failure_reason_code: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TlsPolicy:
    """One policy of an SMTP TLS report with its session counts.

    `type` is `sts`, `tlsa` or `no-policy-found` (RFC 8460 section 4.4),
    or whatever else the reporter wrote. `domain` is None when the reporter
    left out `policy-domain`, and `error` then explains it.
    """

    domain: str | None
    type: str | None
    successful: int
    failed: int
    policy_strings: tuple[str, ...] = ()
    mx_hosts: tuple[str, ...] = ()
    failure_details: tuple[TlsFailureDetail, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class DomainSessions:
    """The TLS sessions a report describes for one policy domain, each counted once."""

    domain: str
    successful: int
    failed: int


@dataclasses.dataclass(frozen=True, slots=True)
class TlsReport:
    """An SMTP TLS report (RFC 8460 section 4).

    `begin` and `end` are Unix seconds, converted from the RFC 3339 times of
    `date-range`. `total_successful` and `total_failed` add up the summary
    counts of every policy as the reporter wrote them; per-domain figures
    come from `sessions_by_domain`, which does not double-count.
    """

    organization: str | None
    report_id: str
    begin: int | None
    end: int | None
    policies: tuple[TlsPolicy, ...]
    contact_info: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def total_successful(self) -> int:
        return sum(policy.successful for policy in self.policies)

    @property
    def total_failed(self) -> int:
        return sum(policy.failed for policy in self.policies)

    def sessions_by_domain(self) -> list[DomainSessions]:
        """Return each policy domain's sessions, counting a domain's sessions once.

        Some reporters (Microsoft among them) list the same sessions once
        under each policy that applies to a domain, for example under both
        `sts` and `tlsa`, so a domain's sessions are the largest counts
        among its policies. Policies without a domain are left out.
        NOTE: a reporter that splits one domain's sessions between two
        policies is under-counted by this rule.
        """
        by_domain: dict[str, DomainSessions] = {}
        for policy in self.policies:
            if policy.domain is None:
                continue
            key = policy.domain.lower()
            seen = by_domain.get(key, DomainSessions(key, 0, 0))
            by_domain[key] = DomainSessions(key, max(seen.successful, policy.successful), max(seen.failed, policy.failed))
        return list(by_domain.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "organization": self.organization,
            "report_id": self.report_id,
            "begin": self.begin,
            "end": self.end,
            "contact_info": self.contact_info,
            "policies": [policy.to_json() for policy in self.policies],
            "total_successful": self.total_successful,
            "total_failed": self.total_failed,
            "domains": [dataclasses.asdict(sessions) for sessions in self.sessions_by_domain()],
            "warnings": list(self.warnings),
        }
