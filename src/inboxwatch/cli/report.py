"""`inboxwatch report`: summaries of stored DMARC and TLS reports that a person can act on."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

import click

from inboxwatch.analysis.dmarc_sources import judge_source
from inboxwatch.analysis.senders import KnownSenders, SenderIdentity
from inboxwatch.cli.report_format import format_dmarc_summary, format_failure_sources, format_tls_summary
from inboxwatch.cli.report_html import html_command
from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.config.models import Config
from inboxwatch.errors import CheckError, InboxwatchError
from inboxwatch.service.report_checks import run_report_checks
from inboxwatch.service.senders import SenderDirectory
from inboxwatch.store.report_history import tls_domain_totals, tls_failure_details, tls_policy_summaries
from inboxwatch.store.reports import SourceSummary, dmarc_failure_sources, dmarc_report_count, dmarc_sources

domain_option = click.option("--domain", required=True, help="The policy domain the reports are about.")
days_option = click.option(
    "--days", default=7, show_default=True, type=click.IntRange(min=1), help="Window length in days, ending now."
)
tenant_option = click.option("--tenant", help="Only this tenant's reports.")


@click.group("report")
def command() -> None:
    """Summarise stored DMARC and TLS reports, and run the report alert checks."""


command.add_command(html_command)


@command.command("dmarc")
@domain_option
@days_option
@tenant_option
@click.option(
    "--reverse-dns/--no-reverse-dns",
    default=None,
    help="Look up each source's reverse DNS name. Default: [dmarc] reverse_dns (off).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON Lines: one object per source IP of the aggregate reports (kind dmarc-aggregate), then one per source IP of the failure reports (kind dmarc-failure).",
)
@config_option
@store_option
def dmarc_command(
    domain: str,
    days: int,
    tenant: str | None,
    reverse_dns: bool | None,
    as_json: bool,
    config_path: str | None,
    store_url: str | None,
) -> None:
    """Print, per sending IP, the mail that aggregate reports saw from DOMAIN, whether the IP is a known sender, and what to do.

    Aggregate reports whose date range overlaps the last DAYS days count
    whole. Known senders are [dmarc] known_senders and the IPs that the SPF
    records in known_spf_includes authorise. Then the failure reports that
    arrived in the window are counted per sending IP, with the latest one
    as a sample.
    """
    config = load_settings(config_path, store_url)
    if reverse_dns is not None:
        config = config.model_copy(update={"dmarc": config.dmarc.model_copy(update={"reverse_dns": reverse_dns})})
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    engine = open_store(config)
    try:
        with engine.connect() as conn:
            sources = dmarc_sources(conn, domain, start, end, tenant)
            reports = dmarc_report_count(conn, domain, start, end, tenant)
            failures = dmarc_failure_sources(conn, domain, start, end, tenant)
    finally:
        engine.dispose()
    identities = identify_sources(config, sources)

    if as_json:
        for source in sources:
            identity = identities[source.source_ip]
            verdict = judge_source(source, identity)
            record = {
                "kind": "dmarc-aggregate",
                **dataclasses.asdict(source),
                "pass_rate": source.pass_rate,
                "sender": identity.label,
                "matched_by": identity.matched_by,
                "reverse_name": identity.reverse_name,
                "verdict": verdict.code,
                "advice": verdict.advice,
            }
            click.echo(json.dumps(record))
        for failure in failures:
            click.echo(json.dumps({"kind": "dmarc-failure", **dataclasses.asdict(failure), "latest_at": failure.latest_at.isoformat()}))
        return
    for line in format_dmarc_summary(domain, start, end, reports, sources, identities, show_names=config.dmarc.reverse_dns):
        click.echo(line)
    for line in format_failure_sources(domain, failures):
        click.echo(line)


def identify_sources(config: Config, sources: list[SourceSummary]) -> dict[str, SenderIdentity]:
    """Identify the sources; when DNS is unavailable, fall back to the known_senders networks with a warning."""
    ips = [source.source_ip for source in sources]
    try:
        return SenderDirectory(config.dmarc).identify_all(ips)
    except CheckError as exc:
        click.echo("warning: SPF and reverse DNS lookups skipped: %s" % exc, err=True)
        known = KnownSenders(config.dmarc.known_senders)
        return {ip: known.identify(ip) for ip in ips}


@command.command("tls")
@domain_option
@days_option
@tenant_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the totals, policies and failures.")
@config_option
@store_option
def tls_command(domain: str, days: int, tenant: str | None, as_json: bool, config_path: str | None, store_url: str | None) -> None:
    """Print how many TLS sessions to DOMAIN's mail servers succeeded and failed, per reporter and policy, and why they failed.

    Reports whose date range overlaps the last DAYS days count whole.
    """
    config = load_settings(config_path, store_url)
    end = datetime.now(timezone.utc)
    start = end - timedelta(days=days)
    engine = open_store(config)
    try:
        with engine.connect() as conn:
            totals = tls_domain_totals(conn, domain, start, end, tenant)
            policies = tls_policy_summaries(conn, domain, start, end, tenant)
            failures = tls_failure_details(conn, domain, start, end, tenant)
    finally:
        engine.dispose()

    if as_json:
        record = {
            "domain": domain.lower(),
            "reports": len(totals),
            "successful": sum(total.successful for total in totals),
            "failed": sum(total.failed for total in totals),
            "policies": [{**dataclasses.asdict(policy), "failure_rate": policy.failure_rate} for policy in policies],
            "failure_details": failures,
        }
        click.echo(json.dumps(record))
        return
    for line in format_tls_summary(domain, start, end, totals, policies, failures):
        click.echo(line)


@command.command("check")
@click.option("--at", "at_text", help="Judge the reports as of this time (ISO 8601, UTC if no offset). Default: now.")
@click.option("--no-notify", is_flag=True, help="Change alerts but queue no notifications.")
@config_option
@store_option
def check_command(at_text: str | None, no_notify: bool, config_path: str | None, store_url: str | None) -> None:
    """Run the DMARC and TLS report alert checks once, as `inboxwatch run` does every [dmarc] check_interval."""
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    try:
        summary = run_report_checks(engine, config, parse_time(at_text or "now"), SenderDirectory(config.dmarc), notify=not no_notify)
    except InboxwatchError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()

    for signal in summary.signals:
        click.echo("%-8s %-22s %s" % ("breached" if signal.breached else "ok", signal.rule, signal.summary))
    for item in summary.outcomes:
        if item.alert is not None and item.outcome.decision in ("opened", "fired", "resolved", "escalated"):
            click.echo("alert %d %s: %s" % (item.alert.id, item.outcome.decision, item.alert.summary))
    click.echo("%d signals, %d breached" % (len(summary.signals), sum(1 for signal in summary.signals if signal.breached)))
