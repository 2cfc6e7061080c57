"""`inboxwatch check`: run the DNS health checks once and print the results."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import ssl
import sys
from collections.abc import Callable
from datetime import datetime, timezone

import click
import sqlalchemy as sa

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.config.models import Config
from inboxwatch.dnscheck.auth import CHECK_NAMES, AuthOptions, DomainReport, check_domain
from inboxwatch.dnscheck.blocklist_check import ListingResult, check_blocklists
from inboxwatch.dnscheck.blocklists import CATALOGUE, select_lists
from inboxwatch.dnscheck.dnsbl import MAX_EXPANDED_ADDRESSES, Asset, AssetKind, Health, Status, applies, expand_network, normalize_domain, parse_asset, parse_ip
from inboxwatch.dnscheck.mtasts import DEFAULT_POLICY_URL
from inboxwatch.dnscheck.resolver import Resolver, parse_nameserver
from inboxwatch.dnscheck.findings import CheckStatus
from inboxwatch.errors import InboxwatchError
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.service.dns_checks import store_auth_reports, store_blocklist_results

# Exit status when a check found a problem: an asset is listed, or an SPF,
# DKIM or DMARC record is missing or invalid. Statuses 1 and 2 stay with
# errors of the command itself (1) and invalid options (2), as Click uses
# them, so a script can tell a finding from a failed run.
EXIT_PROBLEM_FOUND = 4

# The checks whose failure counts as a failed authentication check.
AUTHENTICATION_CHECKS = ("spf", "dkim", "dmarc")
FAILED_STATUSES = (CheckStatus.ERROR, CheckStatus.MISSING)

nameserver_option = click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Resolver to query, repeatable. Default: [checks] nameservers of the configuration, else the system resolver configuration (/etc/resolv.conf).",
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Seconds to wait for each DNS answer. Default: [checks] timeout of the configuration, else 2.",
)

# Seconds per DNS answer when neither --timeout nor [checks] timeout sets it.
DEFAULT_TIMEOUT = 2.0
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line (JSON Lines).")
save_option = click.option(
    "--save/--no-save",
    default=True,
    show_default=True,
    help="Store the results and apply their alert changes, as the checks of `inboxwatch run` do, so `inboxwatch report html` shows them.",
)


def resolver_defaults(config_path: str | None, nameservers: tuple[str, ...], timeout: float | None) -> tuple[tuple[str, ...], float]:
    """Return the nameservers and timeout to use: the options given, else those of the configuration's [checks]."""
    checks = load_settings(config_path, None).checks
    if not nameservers and checks is not None:
        nameservers = checks.nameservers
    if timeout is None:
        timeout = checks.timeout if checks is not None else DEFAULT_TIMEOUT
    return nameservers, timeout


def make_resolver(nameservers: tuple[str, ...], timeout: float) -> Resolver:
    try:
        return Resolver([parse_nameserver(text) for text in nameservers] or None, timeout=timeout)
    except InboxwatchError as error:
        raise click.BadParameter(str(error), param_hint="--nameserver") from error


def expand_sender_ips(values: tuple[str, ...]) -> list[Asset]:
    try:
        return [asset for value in values for asset in expand_network(value, MAX_EXPANDED_ADDRESSES)]
    except InboxwatchError as error:
        raise click.ClickException("[sender] ips: %s" % error) from error


def blocklist_assets(values: tuple[str, ...], config_path: str | None) -> list[Asset]:
    if values:
        try:
            return [parse_asset(value) for value in values]
        except InboxwatchError as error:
            raise click.BadParameter(str(error), param_hint="IP|DOMAIN") from error
    sender = load_settings(config_path, None).sender
    assets = expand_sender_ips(sender.ips) + [Asset(AssetKind.DOMAIN, domain) for domain in sender.domains]
    if not assets:
        raise click.UsageError("give at least one IP or DOMAIN, or list them under [sender] ips and domains in the configuration")
    return assets


def looks_like_ip_address(text: str) -> bool:
    """Tell whether `text` is an IP address, or digits and dots (no top-level domain is all digits)."""
    stripped = text.strip().rstrip(".")
    try:
        ipaddress.ip_address(stripped)
    except ValueError:
        return bool(stripped) and all(character.isdigit() or character == "." for character in stripped)
    return True


@click.group("check")
def command() -> None:
    """Check blocklists and DNS authentication records once."""


@command.command("blocklists")
@click.argument("values", nargs=-1, metavar="[IP|DOMAIN ...]")
@click.option("--zone", "zones", multiple=True, metavar="NAME", help="Check only this list (catalogue name or DNS zone), repeatable. An unknown zone is checked as a generic RFC 5782 list.")
@json_option
@nameserver_option
@timeout_option
@save_option
@config_option
@store_option
def blocklists_command(
    values: tuple[str, ...], zones: tuple[str, ...], as_json: bool, nameservers: tuple[str, ...], timeout: float | None, save: bool, config_path: str | None, store_url: str | None
) -> None:
    """Look up IPs and domains on DNS blocklists.

    Without arguments the [sender] ips and domains of the configuration are
    checked. A list that fails its RFC 5782 self-test reports every asset as
    unknown, never as clear. The exit status is 4 when an asset is listed.
    """
    assets = blocklist_assets(values, config_path)
    nameservers, timeout = resolver_defaults(config_path, nameservers, timeout)
    if not zones:
        checks = load_settings(config_path, None).checks
        zones = checks.zones if checks is not None else ()
    try:
        lists = select_lists(zones) if zones else list(CATALOGUE)
    except InboxwatchError as error:
        raise click.BadParameter(str(error), param_hint="--zone") from error
    resolver = make_resolver(nameservers, timeout)
    try:
        results = asyncio.run(check_blocklists(resolver, assets, lists, include_inapplicable=True))
    finally:
        resolver.close()
    if not any(applies(asset, blocklist) for asset in assets for blocklist in lists):
        click.echo("no selected list takes any of the assets given: nothing was looked up, so every result is unknown", err=True)

    if as_json:
        for result in results:
            sys.stdout.write(json.dumps(result.to_json()) + "\n")
    else:
        print_blocklist_results(results)
    if save:
        config = load_settings(config_path, store_url)
        store_results(config, lambda engine, now: store_blocklist_results(engine, config.tenant, results, now, policy=alert_policy(config)))
    if any(result.status is Status.LISTED for result in results):
        sys.exit(EXIT_PROBLEM_FOUND)


def store_results(config: Config, store: Callable[[sa.Engine, datetime], object]) -> None:
    engine = open_store(config)
    try:
        store(engine, datetime.now(timezone.utc))
    except sa.exc.SQLAlchemyError as error:
        raise click.ClickException("storing the check results in %s failed: %s" % (engine.url.render_as_string(hide_password=True), error)) from error
    finally:
        engine.dispose()


def print_blocklist_results(results: list[ListingResult]) -> None:
    unhealthy = sorted({(result.blocklist.name, result.health.value) for result in results if result.health is not Health.HEALTHY})
    for name, health in unhealthy:
        click.echo("list %s is %s: its results are unknown" % (name, health), err=True)
    for result in results:
        line = "%-40s %-22s %-8s" % (result.asset.value, result.blocklist.name, result.status.value)
        notes = list(result.meanings)
        # A listed result's reason is the list's TXT text, shown only in JSON.
        if result.reason and result.status is not Status.LISTED:
            notes.append(result.reason)
        if notes:
            line += " " + "; ".join(notes)
        click.echo(line.rstrip())


@command.command("auth")
@click.argument("domains", nargs=-1, metavar="[DOMAIN ...]")
@click.option("--dkim-selector", "selectors", multiple=True, metavar="NAME", help="DKIM selector to check, repeatable; selectors cannot be discovered from DNS. Default: [checks] dkim_selectors.")
@click.option("--ip", "ips", multiple=True, metavar="IP", help="Sending IP to check against SPF and for reverse DNS, repeatable. Default: [sender] ips.")
@click.option("--mta-sts-url", default=DEFAULT_POLICY_URL, show_default=True, help="Where to fetch MTA-STS policies; {domain} is replaced by the domain.")
@click.option("--mta-sts-ca", type=click.Path(exists=True, dir_okay=False), help="CA certificate file (PEM) trusted for the MTA-STS fetch instead of the system store.")
@json_option
@nameserver_option
@timeout_option
@save_option
@config_option
@store_option
def auth_command(domains, selectors, ips, mta_sts_url, mta_sts_ca, as_json, nameservers, timeout, save, config_path, store_url) -> None:
    """Check SPF, DKIM, DMARC, MTA-STS, TLS-RPT, BIMI and MX records of DOMAINs.

    Without DOMAIN the [sender] domains of the configuration are checked.
    The exit status is 4 when an SPF, DKIM or DMARC record is missing or has an error.
    """
    for domain in domains:
        if looks_like_ip_address(domain):
            raise click.BadParameter("%r is an IP address, not a domain: pass sending IP addresses with --ip" % domain, param_hint="DOMAIN")
    try:
        domain_list = [normalize_domain(domain) for domain in domains]
        ip_list = [str(parse_ip(ip)) for ip in ips]
    except InboxwatchError as error:
        raise click.BadParameter(str(error)) from error
    if not domain_list or not ip_list or not selectors:
        config = load_settings(config_path, None)
        domain_list = domain_list or list(config.sender.domains)
        ip_list = ip_list or [asset.value for asset in expand_sender_ips(config.sender.ips)]
        # The scheduled check's selectors, so a stored result compares with the service's.
        selectors = selectors or (config.checks.dkim_selectors if config.checks is not None else ())
    if not domain_list:
        raise click.UsageError("give at least one DOMAIN, or list them under [sender] domains in the configuration")

    nameservers, timeout = resolver_defaults(config_path, nameservers, timeout)
    options = AuthOptions(
        dkim_selectors=tuple(selectors),
        sending_ips=tuple(ip_list),
        mta_sts_policy_url=mta_sts_url,
        mta_sts_verify=ssl.create_default_context(cafile=mta_sts_ca) if mta_sts_ca else True,
    )
    resolver = make_resolver(nameservers, timeout)

    async def run_all():
        return await asyncio.gather(*(check_domain(resolver, domain, options) for domain in domain_list))

    try:
        reports = asyncio.run(run_all())
    finally:
        resolver.close()
    print_auth_reports(reports, as_json)
    if save:
        config = load_settings(config_path, store_url)
        store_results(config, lambda engine, now: store_auth_reports(engine, config.tenant, reports, now, policy=alert_policy(config)))
    if any(failed_checks(report) for report in reports):
        sys.exit(EXIT_PROBLEM_FOUND)


def failed_checks(report: DomainReport) -> list[str]:
    """Name the SPF, DKIM and DMARC checks of `report` that are missing or in error.

    DKIM counts only when a selector was checked, because without one its
    "missing" status means that no selector was given, not that a key is missing.
    """
    names = [name for name in AUTHENTICATION_CHECKS if name != "dkim" or report.dkim_selectors]
    return [name for name in names if report.checks[name].status in FAILED_STATUSES]


def print_auth_reports(reports: list[DomainReport], as_json: bool) -> None:
    for report in reports:
        if as_json:
            sys.stdout.write(json.dumps(report.to_json()) + "\n")
            continue
        click.echo(report.domain)
        for name in CHECK_NAMES:
            check = report.checks[name]
            line = "  %-8s %s" % (name, check.status.value)
            if check.reason:
                line += ": " + check.reason
            click.echo(line)
            for problem in check.problems:
                click.echo("           %s: %s" % (problem.level.value, problem.text))
        for address, check in report.ptr.items():
            line = "  %-8s %s %s" % ("ptr", address, check.status.value)
            if check.record:
                line += " " + ", ".join(name.rstrip(".") for name in check.record)
            if check.reason:
                line += ": " + check.reason
            click.echo(line)
            for problem in check.problems:
                click.echo("           %s: %s" % (problem.level.value, problem.text))
