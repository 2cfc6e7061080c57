"""The DNS checks that `inboxwatch run` schedules: blocklists and authentication records, each on its own interval.

A kind of check is due when its newest stored result is at least its
interval old, so a restart neither repeats a check early nor counts two
listing confirmations minutes apart. Each cycle uses a fresh resolver,
because a cached answer would confirm a listing without looking again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.config.checks import ChecksSettings
from inboxwatch.config.models import Config
from inboxwatch.dnscheck.auth import AuthOptions
from inboxwatch.dnscheck.blocklists import CATALOGUE, Blocklist, select_lists
from inboxwatch.dnscheck.dnsbl import MAX_EXPANDED_ADDRESSES, Asset, AssetKind, expand_network, parse_ip
from inboxwatch.dnscheck.resolver import Resolver, parse_nameserver
from inboxwatch.errors import CheckError
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.service.dns_checks import DnsCheckSummary, run_auth_checks, run_blocklist_checks
from inboxwatch.service.job_leases import JobLease
from inboxwatch.store.dns_checks import latest_check_time
from inboxwatch.store.sending_ips import recent_sending_ips

log = logging.getLogger(__name__)

BLOCKLIST_KIND = "blocklist"
AUTH_KIND = "auth"
# Maximum wait between looks at the schedule, in seconds; intervals are 1m or more.
MAX_WAIT_SECONDS = 30.0


def checked_lists(settings: ChecksSettings) -> list[Blocklist]:
    return select_lists(settings.zones) if settings.zones else list(CATALOGUE)


def make_resolver(settings: ChecksSettings, lists: list[Blocklist]) -> Resolver:
    """Build the resolver of one cycle; raises `CheckError` for an invalid nameserver or none configured."""
    nameservers = [parse_nameserver(text) for text in settings.nameservers] or None
    rates = {blocklist.zone: settings.zone_rate_limit for blocklist in lists} if settings.zone_rate_limit else None
    return Resolver(nameservers, timeout=settings.timeout, zone_rates=rates)


def blocklist_assets(conn: sa.Connection, config: Config, settings: ChecksSettings, now: datetime) -> list[Asset]:
    """Collect the `[sender]` IPs and domains and, with `assets_from_events`, the sending IPs seen lately."""
    assets = [asset for value in config.sender.ips for asset in expand_network(value, MAX_EXPANDED_ADDRESSES)]
    if settings.assets_from_events:
        for text in recent_sending_ips(conn, config.tenant, now - settings.assets_lookback):
            try:
                address = parse_ip(text)
            except CheckError as error:
                # Parsers store the IP text as the log wrote it, and one unreadable IP must not stop the check.
                log.warning("sending IP %r from the events is skipped: %s", text, error)
                continue
            assets.append(Asset(AssetKind.IPV4 if address.version == 4 else AssetKind.IPV6, str(address)))
    assets.extend(Asset(AssetKind.DOMAIN, domain) for domain in config.sender.domains)
    return list(dict.fromkeys(assets))


def auth_options(config: Config, settings: ChecksSettings) -> AuthOptions:
    sending_ips = tuple(asset.value for value in config.sender.ips for asset in expand_network(value, MAX_EXPANDED_ADDRESSES))
    return AuthOptions(dkim_selectors=settings.dkim_selectors, sending_ips=sending_ips, mta_sts_policy_url=settings.mta_sts_url)


@dataclasses.dataclass
class DnsCheckSchedule:
    """Runs each kind of DNS check when it is due; `run_due` is one look at the schedule."""

    engine: sa.Engine
    config: Config
    # When each kind was last started in this process. A kind that failed
    # or had nothing to check waits a whole interval too, so a lasting fault
    # (no nameserver configured) logs one error per interval.
    attempted: dict[str, datetime] = dataclasses.field(default_factory=dict)

    @property
    def settings(self) -> ChecksSettings:
        assert self.config.checks is not None
        return self.config.checks

    def intervals(self) -> dict[str, timedelta]:
        return {BLOCKLIST_KIND: self.settings.blocklist_interval, AUTH_KIND: self.settings.auth_interval}

    def next_due(self, conn: sa.Connection) -> dict[str, datetime | None]:
        """Return when each kind is next due: None when it has never run."""
        due: dict[str, datetime | None] = {}
        for kind, interval in self.intervals().items():
            runs = [at for at in (latest_check_time(conn, self.config.tenant, kind), self.attempted.get(kind)) if at is not None]
            due[kind] = max(runs) + interval if runs else None
        return due

    def run_due(self, now: datetime) -> list[DnsCheckSummary]:
        """Run every kind of check that is due at `now`; a failure is logged and retried an interval later."""
        try:
            with self.engine.connect() as conn:
                due = [kind for kind, at in self.next_due(conn).items() if at is None or at <= now]
        except sa.exc.SQLAlchemyError as error:
            log.error("reading the DNS check schedule failed: %s; retrying in %.0f s", error, MAX_WAIT_SECONDS)
            return []
        summaries = []
        for kind in due:
            self.attempted[kind] = now
            try:
                summary = self.run_kind(kind, now)
            except (CheckError, sa.exc.SQLAlchemyError) as error:
                log.error("%s checks failed: %s; retrying in %s", kind, error, self.intervals()[kind])
                continue
            if summary is not None:
                summaries.append(summary)
        return summaries

    def run_kind(self, kind: str, now: datetime) -> DnsCheckSummary | None:
        """Run one kind of check at `now`; None when there is nothing to check."""
        summary = self.run_blocklists(now) if kind == BLOCKLIST_KIND else self.run_auth(now)
        if summary is None:
            return None
        log.info(
            "%s checks at %s: %d signals, %d breached, %d alert changes, %d notifications",
            kind,
            now.isoformat(),
            len(summary.signals),
            sum(1 for signal in summary.signals if signal.breached),
            len(summary.outcomes),
            summary.notifications,
        )
        return summary

    def run_blocklists(self, now: datetime) -> DnsCheckSummary | None:
        settings = self.settings
        lists = checked_lists(settings)
        with self.engine.connect() as conn:
            assets = blocklist_assets(conn, self.config, settings, now)
        if not assets:
            log.info("blocklist checks skipped: no [sender] ips or domains, and no sending IPs from the events")
            return None
        resolver = make_resolver(settings, lists)
        try:
            job = run_blocklist_checks(self.engine, resolver, self.config.tenant, assets, lists, now, policy=alert_policy(self.config))
            return asyncio.run(job)
        finally:
            resolver.close()

    def run_auth(self, now: datetime) -> DnsCheckSummary | None:
        settings = self.settings
        domains = self.config.sender.domains
        if not domains:
            log.info("authentication checks skipped: no [sender] domains")
            return None
        resolver = make_resolver(settings, [])
        options = auth_options(self.config, settings)
        try:
            return asyncio.run(run_auth_checks(self.engine, resolver, self.config.tenant, domains, options, now, policy=alert_policy(self.config)))
        finally:
            resolver.close()

    def seconds_until_due(self, now: datetime) -> float:
        with self.engine.connect() as conn:
            upcoming = [at for at in self.next_due(conn).values()]
        if any(at is None for at in upcoming):
            return 0.0
        return max(0.0, min((at - now).total_seconds() for at in upcoming))


def run_dns_checks_loop(
    engine: sa.Engine, config: Config, stop: threading.Event, clock: Callable[[], datetime], *, lease: JobLease | None = None
) -> None:
    """Run the DNS checks as they fall due until `stop` is set.

    With a `lease`, the schedule is looked at only while this process holds
    it. The loop looks at least every MAX_WAIT_SECONDS, so a lease TTL longer
    than that is renewed in time.
    """
    schedule = DnsCheckSchedule(engine, config)
    while not stop.is_set():
        if lease is not None and not lease.acquire(clock()):
            stop.wait(MAX_WAIT_SECONDS)
            continue
        schedule.run_due(clock())
        try:
            wait = min(MAX_WAIT_SECONDS, schedule.seconds_until_due(clock()))
        except sa.exc.SQLAlchemyError as error:
            log.error("reading the DNS check schedule failed: %s; looking again in %.0f s", error, MAX_WAIT_SECONDS)
            wait = MAX_WAIT_SECONDS
        # At least a second, as a guard against a busy loop should the
        # schedule read as due again right after a run.
        stop.wait(max(wait, 1.0))
