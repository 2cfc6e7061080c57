"""The reputation section of the HTML report: each feed's latest stored values at the end of the period, with old rows marked as stale.

A feed's latest row is stale when it is older than the feed's usual delay
before the period end, so it no longer describes the sender at the end of
the period. SNDS rows and IP status snapshots use SNDS_MAX_PERIOD_AGE (3
days), the limit the SNDS alerts use too. A domain's latest Postmaster day
uses the same 3 days, an estimate that allows for Gmail publishing a day
about a day after it ends and a missed fetch. A Sender Score is a DNS lookup
without publishing delay, so it is stale when it was looked up before the
period started. The earlier Postmaster days shown as history are stale
when they ended before the period started.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from inboxwatch.analysis.rules import percent
from inboxwatch.service.reputation import FEED_TITLES
from inboxwatch.store.db import as_utc
from inboxwatch.store.reputation import (
    SNDS_MAX_PERIOD_AGE,
    feed_states,
    latest_sender_scores,
    latest_snds_data,
    latest_snds_status,
    postmaster_days,
)

POSTMASTER_MAX_DAY_AGE = timedelta(days=3)

# Postmaster days shown per domain.
POSTMASTER_DAYS_SHOWN = 7

TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclasses.dataclass(frozen=True)
class ReputationView:
    """Everything the report's reputation section shows; `has_data` is False when no feed has stored anything."""

    feeds: list[dict[str, Any]]
    snds: list[dict[str, Any]]
    snds_status_at: str | None
    snds_status_stale: bool
    snds_status: list[dict[str, Any]]
    postmaster: list[dict[str, Any]]
    scores: list[dict[str, Any]]

    @property
    def has_data(self) -> bool:
        return bool(self.feeds or self.snds or self.snds_status_at or self.postmaster or self.scores)


def reputation_view(conn: sa.Connection, tenant: str, start: datetime, end: datetime) -> ReputationView:
    """Collect the latest stored value of each feed as of `end`, marking rows older than the feed's usual delay as stale."""
    snapshot, ranges = latest_snds_status(conn, tenant, at=end)
    return ReputationView(
        feeds=feed_rows(conn, tenant),
        snds=snds_rows(conn, tenant, end),
        snds_status_at=snapshot.strftime(TIME_FORMAT) if snapshot is not None else None,
        snds_status_stale=snapshot is not None and snapshot < end - SNDS_MAX_PERIOD_AGE,
        snds_status=[{**row, "blocked_text": "yes" if row["blocked"] else "no"} for row in ranges],
        postmaster=postmaster_rows(conn, tenant, start, end),
        scores=score_rows(conn, tenant, start, end),
    )


def feed_rows(conn: sa.Connection, tenant: str) -> list[dict[str, Any]]:
    """Describe the last fetch of each feed and feed part (a domain's Postmaster compliance status): its outcome, time and error."""
    rows = []
    for state in feed_states(conn, tenant).values():
        feed, _, domain = state.feed.partition(":")
        title = FEED_TITLES.get(feed, "Google Postmaster Tools compliance" if feed == "postmaster-compliance" else feed)
        attempt = state.last_attempt_at.strftime(TIME_FORMAT)
        if state.status == "ok":
            outcome = "last fetch succeeded at %s" % attempt
        else:
            success = state.last_success_at.strftime(TIME_FORMAT) if state.last_success_at else "never"
            outcome = "last fetch FAILED at %s: %s; last success %s" % (attempt, state.error or "no error text stored", success)
        rows.append({"title": "%s for %s" % (title, domain) if domain else title, "failed": state.status != "ok", "outcome": outcome})
    return sorted(rows, key=lambda row: row["title"])


def snds_rows(conn: sa.Connection, tenant: str, end: datetime) -> list[dict[str, Any]]:
    rows = []
    for row in latest_snds_data(conn, tenant, at=end, keep_stale=True):
        activity_end = as_utc(row["activity_end"])
        rows.append(
            {
                **row,
                "period": "%s to %s" % (as_utc(row["activity_start"]).strftime(TIME_FORMAT), activity_end.strftime(TIME_FORMAT)),
                "stale": stale_note(activity_end, end - SNDS_MAX_PERIOD_AGE),
            }
        )
    return rows


def postmaster_rows(conn: sa.Connection, tenant: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = []
    latest_seen: set[str] = set()
    for row in postmaster_days(conn, tenant, limit=POSTMASTER_DAYS_SHOWN, at=end):
        values = ("spam_rate", "spf_success_rate", "dkim_success_rate", "dmarc_success_rate")
        cells = [percent(row[name]) if row[name] is not None else "-" for name in values]
        # Days come newest first within a domain, so the first row of a domain is its latest.
        oldest_current = start if row["domain"] in latest_seen else end - POSTMASTER_MAX_DAY_AGE
        latest_seen.add(row["domain"])
        rows.append({**row, "cells": cells, "stale": stale_note(day_end(row["day"]), oldest_current, row["day"].isoformat())})
    return rows


def score_rows(conn: sa.Connection, tenant: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = []
    for row in latest_sender_scores(conn, tenant, at=end):
        checked = as_utc(row["checked_at"])
        rows.append({**row, "checked": checked.strftime(TIME_FORMAT), "stale": stale_note(checked, start)})
    return rows


def stale_note(when: datetime, oldest_current: datetime, date_text: str | None = None) -> str | None:
    """Return "stale: from DATE" when `when` is before `oldest_current`, else None; `date_text` replaces the formatted `when`."""
    if when >= oldest_current:
        return None
    return "stale: from %s" % (date_text or when.strftime(TIME_FORMAT))


def day_end(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=timezone.utc) + timedelta(days=1)
