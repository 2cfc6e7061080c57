"""`inboxwatch reputation`: fetch the providers' reputation feeds and show their latest stored values."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.config.models import Config
from inboxwatch.model.text import plural
from inboxwatch.service.reputation import FEED_TITLES, FEEDS, fetch_reputation
from inboxwatch.store.reputation import (
    FeedState,
    feed_states,
    latest_sender_scores,
    latest_snds_data,
    latest_snds_status,
    postmaster_days,
    postmaster_unknown_fields,
)


@click.group("reputation")
def command() -> None:
    """Mailbox providers' reputation feeds: Microsoft SNDS, Google Postmaster Tools, Validity Sender Score."""


@command.command("fetch")
@click.option("--feed", "feeds", multiple=True, type=click.Choice(FEEDS), help="Fetch only this feed (repeatable). Default: every configured feed.")
@config_option
@store_option
def fetch_command(feeds: tuple[str, ...], config_path: str | None, store_url: str | None) -> None:
    """Fetch every configured feed once and store what it returns."""
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    try:
        results = fetch_reputation(engine, config, datetime.now(timezone.utc), feeds=feeds or FEEDS)
    finally:
        engine.dispose()
    if not results:
        raise click.ClickException("no reputation feed is configured: add [reputation.snds], [reputation.postmaster] or [reputation.senderscore]")
    failed = False
    for result in results:
        if result.error is None:
            click.echo("%s: fetched, %s stored, %d skipped" % (FEED_TITLES[result.feed], plural(result.stored, "row"), result.rejected))
        else:
            failed = True
            click.echo("%s: FAILED: %s" % (FEED_TITLES[result.feed], result.error))
        for warning in result.warnings:
            click.echo("  warning: %s" % warning)
    if failed:
        raise SystemExit(1)


@command.command("status")
@config_option
@store_option
def status_command(config_path: str | None, store_url: str | None) -> None:
    """Print, per feed, whether it is configured, its last fetch, whether it was reachable, and its latest stored values."""
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    try:
        with engine.connect() as conn:
            states = feed_states(conn, config.tenant)
            snds_rows = latest_snds_data(conn, config.tenant)
            snapshot, blocked = latest_snds_status(conn, config.tenant)
            postmaster_rows = postmaster_days(conn, config.tenant, limit=1)
            unknown_fields = postmaster_unknown_fields(conn, config.tenant)
            scores = latest_sender_scores(conn, config.tenant)
    finally:
        engine.dispose()

    for feed in FEEDS:
        click.echo("%s: %s" % (FEED_TITLES[feed], feed_line(feed, config, states.get(feed))))
        if feed == "snds":
            for row in snds_rows:
                click.echo(
                    "  %s  %s to %s  filter %s  complaints %s  trap hits %d"
                    % (row["ip"], row["activity_start"], row["activity_end"], row["filter_result"], row["complaint_rate_text"], row["trap_hits"])
                )
            if snapshot is not None:
                ranges = ", ".join("%s-%s %s" % (r["first_ip"], r["last_ip"], "blocked" if r["blocked"] else "not blocked") for r in blocked)
                click.echo("  IP status at %s: %s" % (snapshot.isoformat(), ranges or "nothing blocked"))
        elif feed == "postmaster":
            for row in postmaster_rows:
                click.echo("  %s %s  %s" % (row["domain"], row["day"], postmaster_values(row)))
            for name, state in sorted(states.items()):
                if name.startswith("postmaster-compliance:") and state.status != "ok":
                    last_success = state.last_success_at.isoformat() if state.last_success_at else "never"
                    click.echo("  %s compliance: FAILED at %s: %s; last success %s" % (name.split(":", 1)[1], state.last_attempt_at.isoformat(), state.error, last_success))
                elif name.startswith("postmaster-compliance:"):
                    requirements = ", ".join("%s %s" % item for item in sorted(state.detail.items()))
                    click.echo("  %s compliance: %s" % (name.split(":", 1)[1], requirements or "no requirements reported"))
            if unknown_fields:
                click.echo("  fields not read by this version of inboxwatch, so no value is taken from them: %s" % ", ".join(unknown_fields))
        else:
            for row in scores:
                score = "no score in the zone" if row["score"] is None else str(row["score"])
                click.echo("  %s  %s  at %s" % (row["ip"], score, row["checked_at"]))


def feed_line(feed: str, config: Config, state: FeedState | None) -> str:
    configured = getattr(config.reputation, feed) is not None
    if not configured and state is None:
        return "not configured"
    prefix = "" if configured else "no longer configured; "
    if state is None:
        return prefix + "configured, never fetched (run `inboxwatch reputation fetch`)"
    last_success = state.last_success_at.isoformat() if state.last_success_at else "never"
    if state.status == "ok":
        text = "%sreachable; last fetch %s" % (prefix, state.last_attempt_at.isoformat())
        warnings = state.detail.get("warnings") or []
        return text + ("; %s: %s" % (plural(len(warnings), "warning"), "; ".join(warnings)) if warnings else "")
    return "%sFAILED; last attempt %s failed: %s; last success %s" % (prefix, state.last_attempt_at.isoformat(), state.error, last_success)


def postmaster_values(row: dict) -> str:
    parts = []
    for field, title in (
        ("spam_rate", "spam"),
        ("spf_success_rate", "SPF"),
        ("dkim_success_rate", "DKIM"),
        ("dmarc_success_rate", "DMARC"),
        ("tls_rate", "TLS"),
        ("delivery_error_rate", "delivery errors"),
    ):
        if row[field] is not None:
            parts.append("%s %.2f%%" % (title, row[field] * 100))
    if row["domain_reputation"]:
        parts.append("domain reputation %s" % row["domain_reputation"])
    return ", ".join(parts) or "no values reported"
