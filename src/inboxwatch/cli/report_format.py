"""Plain-text tables for `inboxwatch report dmarc` and `inboxwatch report tls`."""

from __future__ import annotations

import collections
from datetime import datetime

from inboxwatch.analysis.dmarc_sources import judge_source
from inboxwatch.analysis.senders import SenderIdentity
from inboxwatch.store.report_history import TlsPolicySummary, TlsTotals
from inboxwatch.store.reports import FailureSource, SourceSummary

# Maximum width of a reverse DNS name in the table; longer names end in "~".
NAME_WIDTH = 40

# Failure causes listed in the TLS report.
MAX_FAILURE_LINES = 10


def percent(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def window_text(start: datetime, end: datetime) -> str:
    return "%s to %s" % (start.strftime("%Y-%m-%d %H:%M"), end.strftime("%Y-%m-%d %H:%M UTC"))


def format_dmarc_summary(
    domain: str,
    start: datetime,
    end: datetime,
    reports: int,
    sources: list[SourceSummary],
    identities: dict[str, SenderIdentity],
    *,
    show_names: bool = False,
) -> list[str]:
    """Render the per-source DMARC table, preceded by totals for known and unknown senders."""
    total = sum(source.messages for source in sources)
    passed = sum(source.dmarc_pass for source in sources)
    header = "DMARC for %s, %s: %d messages from %d sources in %d reports" % (
        domain,
        window_text(start, end),
        total,
        len(sources),
        reports,
    )
    if not sources:
        return [header, "no aggregate reports stored for %s in this window" % domain]

    lines = [header + ", %.1f%% passing DMARC" % percent(passed, total)]
    for known, label in ((True, "known senders"), (False, "unknown senders")):
        group = [source for source in sources if identities[source.source_ip].known == known]
        messages = sum(source.messages for source in group)
        lines.append(
            "  %-17s %4d sources %9d messages %5.1f%% passing"
            % (label + ":", len(group), messages, percent(sum(source.dmarc_pass for source in group), messages))
        )
    name_column = " %-*s" % (NAME_WIDTH, "reverse name") if show_names else ""
    lines.append(
        "%-39s%s %-7s %9s %6s %6s %6s %11s %8s  %s"
        % ("source ip", name_column, "sender", "messages", "dmarc", "dkim", "spf", "quarantined", "rejected", "verdict")
    )
    for source in sources:
        identity = identities[source.source_ip]
        name = ""
        if show_names:
            name = " %-*s" % (NAME_WIDTH, shorten(identity.reverse_name or "-", NAME_WIDTH))
        lines.append(
            "%-39s%s %-7s %9d %5.1f%% %5.1f%% %5.1f%% %11d %8d  %s"
            % (
                source.source_ip or "(none)",
                name,
                identity.label,
                source.messages,
                percent(source.dmarc_pass, source.messages),
                percent(source.dkim_pass, source.messages),
                percent(source.spf_pass, source.messages),
                source.quarantined,
                source.rejected,
                judge_source(source, identity).advice,
            )
        )
    return lines


def format_failure_sources(domain: str, sources: list[FailureSource]) -> list[str]:
    """Render the failure report count per source IP, each with its latest report as a sample."""
    reports = sum(source.reports for source in sources)
    if not sources:
        return ["no DMARC failure reports stored for %s in this window" % domain]
    lines = [
        "DMARC failure reports for %s: %d from %d sources" % (domain, reports, len(sources)),
        "%-39s %7s  %-17s  %s" % ("source ip", "reports", "latest (UTC)", "latest sample"),
    ]
    for source in sources:
        sample = "from %s, envelope from %s, auth failure %s, message id %s" % (
            source.latest_from or "-",
            source.latest_mail_from or "-",
            source.latest_auth_failure or "-",
            source.latest_message_id or "-",
        )
        lines.append(
            "%-39s %7d  %-17s  %s"
            % (source.source_ip or "(none)", source.reports, source.latest_at.strftime("%Y-%m-%d %H:%M"), sample)
        )
    return lines


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def format_tls_summary(
    domain: str,
    start: datetime,
    end: datetime,
    totals: list[TlsTotals],
    policies: list[TlsPolicySummary],
    failures: list[dict],
) -> list[str]:
    """Render the TLS session totals, the per-reporter policy table and the most common failure causes."""
    successful = sum(total.successful for total in totals)
    failed = sum(total.failed for total in totals)
    header = "SMTP TLS for %s, %s: %d sessions in %d reports" % (domain, window_text(start, end), successful + failed, len(totals))
    if not totals:
        return [header, "no TLS reports stored for %s in this window" % domain]

    lines = [header + ", %d failed (%.2f%%)" % (failed, percent(failed, successful + failed))]
    lines.append("%-40s %-16s %7s %11s %9s %8s" % ("reporter", "policy", "reports", "successful", "failed", "failed%"))
    for policy in policies:
        lines.append(
            "%-40s %-16s %7d %11d %9d %7.2f%%"
            % (
                shorten(policy.organization or "(unnamed)", 40),
                policy.policy_type or "(none)",
                policy.reports,
                policy.successful,
                policy.failed,
                100.0 * policy.failure_rate,
            )
        )
    causes = failure_causes(failures)
    if causes:
        lines.append("failed sessions by cause (result type, receiving MX, sending IP):")
        for (result_type, mx_host, sending_ip), sessions in causes[:MAX_FAILURE_LINES]:
            lines.append("  %9d  %s  mx %s  from %s" % (sessions, result_type, mx_host, sending_ip))
        if len(causes) > MAX_FAILURE_LINES:
            lines.append("  ... %d more causes; use --json for all" % (len(causes) - MAX_FAILURE_LINES))
    return lines


def failure_causes(failures: list[dict]) -> list[tuple[tuple[str, str, str], int]]:
    """Add up failed sessions per (result type, receiving MX, sending IP), most sessions first."""
    sessions: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for detail in failures:
        key = (
            detail.get("result_type") or "(no result type)",
            detail.get("receiving_mx_hostname") or "-",
            detail.get("sending_mta_ip") or "-",
        )
        sessions[key] += int(detail.get("failed_session_count") or 0)
    return sorted(sessions.items(), key=lambda item: (-item[1], item[0]))
