"""`inboxwatch report`: summaries of stored reports that a person can act on."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.store.reports import SourceSummary, dmarc_report_count, dmarc_sources


@click.group("report")
def command() -> None:
    """Summarise stored DMARC reports."""


@command.command("dmarc")
@click.option("--domain", required=True, help="The domain whose DMARC policy the reports are about (policy_published domain).")
@click.option("--days", default=7, show_default=True, type=click.IntRange(min=1), help="Window length in days, ending now.")
@click.option("--tenant", help="Only this tenant's reports.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per source IP (JSON Lines).")
@config_option
@store_option
def dmarc_command(
    domain: str, days: int, tenant: str | None, as_json: bool, config_path: str | None, store_url: str | None
) -> None:
    """Print, per sending IP, the messages that aggregate reports saw from DOMAIN and how they authenticated.

    Reports whose date range overlaps the last DAYS days count whole.
    """
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.connect() as conn:
            sources = dmarc_sources(conn, domain, start, end, tenant)
            reports = dmarc_report_count(conn, domain, start, end, tenant)
    finally:
        engine.dispose()

    if as_json:
        for source in sources:
            click.echo(json.dumps({**dataclasses.asdict(source), "pass_rate": source.pass_rate, "verdict": verdict(source)}))
        return
    for line in format_dmarc_summary(domain, start, end, reports, sources):
        click.echo(line)


def verdict(source: SourceSummary) -> str:
    """Describe what a source's results call for."""
    if source.dmarc_pass >= source.messages:
        return "passes"
    if source.dmarc_pass == 0:
        return "fails DMARC: if it sends for you, align its DKIM or SPF domain, otherwise it is spoofing you"
    return "fails for some messages: check forwarding and each sending path"


def format_dmarc_summary(
    domain: str, start: datetime, end: datetime, reports: int, sources: list[SourceSummary]
) -> list[str]:
    total = sum(source.messages for source in sources)
    passed = sum(source.dmarc_pass for source in sources)
    header = "DMARC for %s, %s to %s: %d messages from %d sources in %d reports" % (
        domain,
        start.strftime("%Y-%m-%d %H:%M"),
        end.strftime("%Y-%m-%d %H:%M UTC"),
        total,
        len(sources),
        reports,
    )
    if not sources:
        return [header, "no aggregate reports stored for %s in this window" % domain]
    lines = [
        header + ", %.1f%% passing DMARC" % (100.0 * passed / total if total else 0.0),
        "%-39s %9s %7s %7s %7s %11s %8s %9s  %s"
        % ("source ip", "messages", "dmarc", "dkim", "spf", "quarantined", "rejected", "reporters", "verdict"),
    ]
    for source in sources:
        lines.append(
            "%-39s %9d %6.1f%% %6.1f%% %6.1f%% %11d %8d %9d  %s"
            % (
                source.source_ip or "(none)",
                source.messages,
                100.0 * source.pass_rate,
                _percent(source.dkim_pass, source.messages),
                _percent(source.spf_pass, source.messages),
                source.quarantined,
                source.rejected,
                source.reporters,
                verdict(source),
            )
        )
    return lines


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0
