"""Fetching the configured reputation feeds, storing what they return, and recording each feed's state.

Every feed is fetched on its own: one failing (an expired key, Google
returning 503) never stops the others, and its failure is stored in
`reputation_feeds` so `inboxwatch reputation status` can show it. A feed
that is not configured is not fetched and has no stored state. No value
is ever filled in for a feed that did not answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa

from inboxwatch.analysis.reputation_alerts import ReputationThresholds, postmaster_signals, sender_score_signals, snds_signals
from inboxwatch.config.models import Config
from inboxwatch.config.reputation import PostmasterSettings
from inboxwatch.dnscheck.resolver import Resolver, parse_nameserver
from inboxwatch.dnscheck.senderscore import lookup_sender_score
from inboxwatch.errors import ConfigError, FeedError
from inboxwatch.service.job_leases import JobLease
from inboxwatch.service.reputation_records import log_unknown_fields
from inboxwatch.model.alerts import Signal
from inboxwatch.model.reputation import SenderScore
from inboxwatch.notify.redaction import install_url_filter
from inboxwatch.sources.reputation.oauth import TokenSource, load_service_account, refresh_token_grant, service_account_grant
from inboxwatch.sources.reputation.postmaster import COMPLIANCE_STATUS, DOMAIN_STATS, PostmasterClient, PostmasterFetch, fetch_postmaster
from inboxwatch.sources.reputation.snds import fetch_snds
from inboxwatch.store.reputation import (
    latest_sender_scores,
    latest_snds_data,
    latest_snds_status,
    postmaster_days,
    record_feed_attempt,
    store_postmaster,
    store_sender_scores,
    store_snds_data,
    store_snds_status,
)

log = logging.getLogger(__name__)

FEEDS = ("snds", "postmaster", "senderscore")
FEED_TITLES = {"snds": "Microsoft SNDS", "postmaster": "Google Postmaster Tools", "senderscore": "Validity Sender Score"}


@dataclasses.dataclass(frozen=True)
class FeedResult:
    """One feed's fetch: `error` is None on success; `stored` counts what was written."""

    feed: str
    error: str | None
    stored: int = 0
    rejected: int = 0
    warnings: tuple[str, ...] = ()


def fetch_reputation(
    engine: sa.Engine,
    config: Config,
    now: datetime,
    *,
    feeds: tuple[str, ...] = FEEDS,
    client: httpx.Client | None = None,
    resolver: Resolver | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[FeedResult]:
    """Fetch each configured feed among `feeds` once and return what happened to each."""
    install_url_filter("httpx")
    settings = config.reputation
    owned = client is None
    client = client or httpx.Client(timeout=settings.timeout, follow_redirects=False)
    results = []
    try:
        if "snds" in feeds and settings.snds is not None:
            results.append(run_feed(engine, config, now, "snds", lambda: snds_step(engine, config, now, client, sleep)))
        if "postmaster" in feeds and settings.postmaster is not None:
            results.append(run_feed(engine, config, now, "postmaster", lambda: postmaster_step(engine, config, now, client, sleep)))
        if "senderscore" in feeds and settings.senderscore is not None:
            results.append(run_feed(engine, config, now, "senderscore", lambda: senderscore_step(engine, config, now, resolver)))
    finally:
        if owned:
            client.close()
    return results


def run_feed(engine: sa.Engine, config: Config, now: datetime, feed: str, step: Callable[[], FeedResult]) -> FeedResult:
    try:
        result = step()
    except (FeedError, ConfigError) as exc:
        result = FeedResult(feed, str(exc))
    if result.error is not None:
        log.warning("reputation feed %s failed: %s", feed, result.error)
    with engine.begin() as conn:
        record_feed_attempt(
            conn, tenant=config.tenant, feed=feed, at=now, error=result.error, detail={"stored": result.stored, "rejected": result.rejected, "warnings": list(result.warnings)},
        )
    return result


def snds_step(engine: sa.Engine, config: Config, now: datetime, client: httpx.Client, sleep) -> FeedResult:
    settings = config.reputation.snds
    assert settings is not None
    fetched = fetch_snds(client, settings.base_url, settings.resolve_key(), attempts=config.reputation.attempts, sleep=sleep)
    with engine.begin() as conn:
        data = store_snds_data(conn, fetched.data, tenant=config.tenant, now=now)
        status = store_snds_status(conn, fetched.status, tenant=config.tenant, snapshot_at=now)
    for item in fetched.rejected:
        log.warning("SNDS row skipped: %s", item.error)
    log.info("SNDS: %d data rows stored, %d blocked ranges, %d rows skipped", data.stored, status.stored, len(fetched.rejected))
    return FeedResult("snds", None, data.stored + status.stored, len(fetched.rejected))


def token_source(settings: PostmasterSettings, attempts: int, sleep) -> TokenSource:
    if settings.service_account_file is not None:
        grant = service_account_grant(load_service_account(settings.service_account_file), settings.token_url)
        return TokenSource(settings.token_url, grant, attempts=attempts, sleep=sleep)
    secret = settings.resolve_client_secret()
    refresh = settings.resolve_refresh_token()
    grant = refresh_token_grant(settings.client_id or "", secret, refresh)
    return TokenSource(settings.token_url, grant, secrets=(secret, refresh), attempts=attempts, sleep=sleep)


def postmaster_step(engine: sa.Engine, config: Config, now: datetime, client: httpx.Client, sleep) -> FeedResult:
    settings = config.reputation.postmaster
    assert settings is not None
    api = PostmasterClient(client, settings.base_url, token_source(settings, config.reputation.attempts, sleep), attempts=config.reputation.attempts, sleep=sleep)
    # Gmail publishes a day's statistics about a day later; yesterday is the latest complete day.
    last_day = (now - timedelta(days=1)).date()
    first_day = last_day - timedelta(days=settings.days - 1)
    fetched = fetch_postmaster(api, settings.domains, first_day, last_day, now, traffic_stats_v1=settings.traffic_stats_v1)
    log_unknown_fields(fetched.days, "Postmaster Tools fetch")
    with engine.begin() as conn:
        counts = store_postmaster(conn, fetched.days, tenant=config.tenant, now=now)
        record_compliance(conn, config.tenant, fetched, settings.domains, now)
    for item in fetched.rejected:
        log.warning("Postmaster value skipped: %s", item.error)
    skipped = tuple("value skipped: %s" % item.error for item in fetched.rejected)
    # v2 domain stats are the feed's data, so their failure fails the feed.
    # Compliance and v1 failures are warnings, and each compliance failure is
    # also recorded on that domain's compliance state.
    failed = fetched.failures_of(DOMAIN_STATS)
    warnings = tuple(failure.error for failure in fetched.failures if failure.step != DOMAIN_STATS) + skipped
    error = "; ".join(failure.error for failure in failed) or None
    return FeedResult("postmaster", error, counts.stored, len(fetched.rejected), warnings)


def record_compliance(conn: sa.Connection, tenant: str, fetched: PostmasterFetch, domains: tuple[str, ...], now: datetime) -> None:
    """Record each domain's compliance request: the requirement states, or the error of the failed request."""
    statuses = {status.domain: status for status in fetched.compliance}
    errors = {failure.domain: failure.error for failure in fetched.failures_of(COMPLIANCE_STATUS)}
    for domain in domains:
        feed = "postmaster-compliance:%s" % domain
        if domain in statuses:
            record_feed_attempt(conn, tenant=tenant, feed=feed, at=now, error=None, detail=dict(statuses[domain].requirements))
        elif domain in errors:
            record_feed_attempt(conn, tenant=tenant, feed=feed, at=now, error=errors[domain])


def senderscore_step(engine: sa.Engine, config: Config, now: datetime, resolver: Resolver | None) -> FeedResult:
    settings = config.reputation.senderscore
    assert settings is not None
    ips = settings.ips or tuple(ip for ip in config.sender.ips if "/" not in ip and ":" not in ip)
    if not ips:
        raise FeedError("Sender Score lookup not possible: no IPv4 address in [reputation.senderscore] ips or [sender] ips")
    if resolver is None:
        nameservers = [parse_nameserver(text) for text in settings.nameservers] or None
        resolver = Resolver(nameservers)
    scores, errors = asyncio.run(lookup_all(resolver, ips, settings.zone, now))
    with engine.begin() as conn:
        stored = store_sender_scores(conn, scores, tenant=config.tenant)
    if errors and not scores:
        raise FeedError("; ".join(errors))
    for error in errors:
        log.warning("%s", error)
    return FeedResult("senderscore", None, stored, 0, tuple(errors))


async def lookup_all(resolver: Resolver, ips: tuple[str, ...], zone: str, now: datetime) -> tuple[list[SenderScore], list[str]]:
    scores, errors = [], []
    for ip in ips:
        try:
            scores.append(await lookup_sender_score(resolver, ip, zone, now))
        except FeedError as exc:
            errors.append(str(exc))
    return scores, errors


def reputation_signals(conn: sa.Connection, config: Config, at: datetime) -> list[Signal]:
    """Build the reputation alert signals at `at` from the stored feed data of the configuration's tenant.

    Only data that existed at `at` counts: Postmaster days and SNDS periods
    that ended by then, and IP status snapshots and Sender Scores fetched by
    then, so replaying an earlier time never uses a later fetch.
    """
    thresholds = ReputationThresholds(**config.reputation.alerts.model_dump())
    tenant = config.tenant
    signals = postmaster_signals(postmaster_days(conn, tenant, limit=2, at=at), tenant, thresholds, at)
    _, blocked = latest_snds_status(conn, tenant, at=at)
    signals += snds_signals(latest_snds_data(conn, tenant, at=at), blocked, tenant, at)
    signals += sender_score_signals(latest_sender_scores(conn, tenant, at=at), tenant, thresholds, at)
    return signals


def run_reputation_loop(
    engine: sa.Engine, config: Config, stop: threading.Event, clock: Callable[[], datetime], *, lease: JobLease | None = None
) -> None:
    """Fetch the configured feeds every `[reputation] fetch_interval` until `stop` is set; return at once when none is configured.

    With a `lease`, feeds are fetched only while this process holds it.
    """
    settings = config.reputation
    if settings.snds is None and settings.postmaster is None and settings.senderscore is None:
        return
    interval = settings.fetch_interval.total_seconds()
    while True:
        if lease is None or lease.acquire(clock()):
            try:
                fetch_reputation(engine, config, clock())
            except sa.exc.SQLAlchemyError as exc:
                log.error("storing reputation feed data failed: %s; retrying at the next interval", exc)
        if stop.wait(interval):
            return
