"""Storing and reading reputation feed data: SNDS, Postmaster Tools, Sender Score, and each feed's state.

Storing is idempotent. An SNDS row is keyed by tenant, IP and period start,
and a Postmaster row by tenant, domain and day, whose values a later fetch
fills in or replaces. Fetching or ingesting the same data twice therefore
changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inboxwatch.model.reputation import PostmasterDayRecord, SenderScore, SndsDataRecord, SndsIpStatusRecord
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import postmaster_stats, reputation_feeds, sender_scores, snds_data, snds_ip_status

# Feed states stored in `reputation_feeds.status`.
FEED_OK = "ok"
FEED_FAILED = "failed"

POSTMASTER_VALUES = (
    "spam_rate",
    "spf_success_rate",
    "dkim_success_rate",
    "dmarc_success_rate",
    "tls_rate",
    "delivery_error_rate",
)


# How far an IP's latest SNDS period may end before the evaluated time and
# still count as its current state. Three days is an estimate that allows
# for a period of one day, publishing delay and a missed fetch.
SNDS_MAX_PERIOD_AGE = timedelta(days=3)


@dataclasses.dataclass(frozen=True)
class StoreCounts:
    stored: int
    duplicates: int


@dataclasses.dataclass(frozen=True)
class FeedState:
    """A feed's last attempt and last success; `error` is why the last attempt failed."""

    feed: str
    last_attempt_at: datetime
    last_success_at: datetime | None
    status: str
    error: str | None
    detail: dict[str, Any]


def store_snds_data(conn: sa.Connection, records: Sequence[SndsDataRecord], *, tenant: str, now: datetime) -> StoreCounts:
    stored = duplicates = 0
    for record in records:
        exists = conn.execute(
            sa.select(snds_data.c.id).where(
                snds_data.c.tenant == tenant,
                snds_data.c.ip == record.ip,
                snds_data.c.activity_start == as_utc(record.activity_start),
            )
        ).first()
        if exists is not None:
            duplicates += 1
            continue
        values = dataclasses.asdict(record)
        values["filter_result"] = record.filter_result.value
        for name in ("activity_start", "activity_end", "trap_start", "trap_end"):
            values[name] = as_utc(values[name]) if values[name] else None
        conn.execute(snds_data.insert().values(tenant=tenant, stored_at=as_utc(now), **values))
        stored += 1
    return StoreCounts(stored, duplicates)


def store_snds_status(conn: sa.Connection, records: Sequence[SndsIpStatusRecord], *, tenant: str, snapshot_at: datetime) -> StoreCounts:
    """Store one snapshot of blocked ranges; a range listed twice in the snapshot is stored once."""
    stored = duplicates = 0
    seen = set()
    for record in records:
        key = (record.first_ip, record.last_ip)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        conn.execute(snds_ip_status.insert().values(tenant=tenant, snapshot_at=as_utc(snapshot_at), **dataclasses.asdict(record)))
        stored += 1
    return StoreCounts(stored, duplicates)


def store_postmaster(conn: sa.Connection, records: Sequence[PostmasterDayRecord], *, tenant: str, now: datetime) -> StoreCounts:
    """Insert or update one row per domain and day; values the record lacks keep what is stored."""
    stored = duplicates = 0
    for record in records:
        payload = record.to_json()
        values: dict[str, Any] = {name: getattr(record, name) for name in POSTMASTER_VALUES if getattr(record, name) is not None}
        if record.domain_reputation is not None:
            values["domain_reputation"] = record.domain_reputation.value
        if record.ip_reputations:
            values["ip_reputations"] = payload["ip_reputations"]
        if record.delivery_errors:
            values["delivery_errors"] = payload["delivery_errors"]
        where = (postmaster_stats.c.tenant == tenant, postmaster_stats.c.domain == record.domain, postmaster_stats.c.day == record.day)
        current = conn.execute(sa.select(postmaster_stats).where(*where)).mappings().first()
        if current is None:
            conn.execute(
                postmaster_stats.insert().values(
                    tenant=tenant,
                    domain=record.domain,
                    day=record.day,
                    ip_reputations=values.pop("ip_reputations", []),
                    delivery_errors=values.pop("delivery_errors", []),
                    unknown_fields=list(record.unknown_fields),
                    updated_at=as_utc(now),
                    **values,
                )
            )
            stored += 1
            continue
        changed = {name: value for name, value in values.items() if current[name] != value}
        unknown = sorted(set(current["unknown_fields"] or []) | set(record.unknown_fields))
        if not changed and unknown == sorted(current["unknown_fields"] or []):
            duplicates += 1
            continue
        conn.execute(postmaster_stats.update().where(*where).values(unknown_fields=unknown, updated_at=as_utc(now), **changed))
        stored += 1
    return StoreCounts(stored, duplicates)


def store_sender_scores(conn: sa.Connection, scores: Iterable[SenderScore], *, tenant: str) -> int:
    count = 0
    for score in scores:
        conn.execute(sender_scores.insert().values(tenant=tenant, ip=score.ip, checked_at=as_utc(score.checked_at), score=score.score))
        count += 1
    return count


def record_feed_attempt(
    conn: sa.Connection,
    *,
    tenant: str,
    feed: str,
    at: datetime,
    error: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a fetch attempt: a success when `error` is None, else a failure that keeps the last success time."""
    values: dict[str, Any] = {
        "last_attempt_at": as_utc(at),
        "status": FEED_OK if error is None else FEED_FAILED,
        "error": error,
        "detail": detail or {},
    }
    if error is None:
        values["last_success_at"] = as_utc(at)
    updated = conn.execute(
        reputation_feeds.update().where(reputation_feeds.c.tenant == tenant, reputation_feeds.c.feed == feed).values(**values)
    )
    if updated.rowcount == 0:
        values.setdefault("last_success_at", None)
        conn.execute(reputation_feeds.insert().values(tenant=tenant, feed=feed, **values))


def feed_states(conn: sa.Connection, tenant: str) -> dict[str, FeedState]:
    rows = conn.execute(sa.select(reputation_feeds).where(reputation_feeds.c.tenant == tenant)).mappings()
    return {
        row["feed"]: FeedState(
            feed=row["feed"],
            last_attempt_at=as_utc(row["last_attempt_at"]),
            last_success_at=as_utc(row["last_success_at"]) if row["last_success_at"] else None,
            status=row["status"],
            error=row["error"],
            detail=dict(row["detail"] or {}),
        )
        for row in rows
    }


def latest_snds_data(conn: sa.Connection, tenant: str, at: datetime | None = None, *, keep_stale: bool = False) -> list[dict[str, Any]]:
    """Return each IP's most recent SNDS data row, by IP.

    With `at`, only periods that ended at or before `at` count, and an IP
    whose latest such period ended more than SNDS_MAX_PERIOD_AGE before
    `at` is left out, because that period no longer describes the IP at `at`.
    With `keep_stale`, such a row is returned anyway, for views that mark it as stale.
    """
    conditions = [snds_data.c.tenant == tenant]
    if at is not None:
        conditions.append(snds_data.c.activity_end <= as_utc(at))
    latest = sa.select(snds_data.c.ip, sa.func.max(snds_data.c.activity_start).label("start")).where(*conditions).group_by(snds_data.c.ip).subquery()
    query = (
        sa.select(snds_data)
        .join(latest, sa.and_(snds_data.c.ip == latest.c.ip, snds_data.c.activity_start == latest.c.start))
        .where(snds_data.c.tenant == tenant)
        .order_by(snds_data.c.ip)
    )
    rows = [dict(row) for row in conn.execute(query).mappings()]
    if at is not None and not keep_stale:
        rows = [row for row in rows if as_utc(row["activity_end"]) >= as_utc(at) - SNDS_MAX_PERIOD_AGE]
    return rows


def snds_history(conn: sa.Connection, tenant: str, ip: str, limit: int = 2) -> list[dict[str, Any]]:
    """Return an IP's latest `limit` SNDS data rows, newest first."""
    query = (
        sa.select(snds_data)
        .where(snds_data.c.tenant == tenant, snds_data.c.ip == ip)
        .order_by(snds_data.c.activity_start.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def latest_snds_status(conn: sa.Connection, tenant: str, at: datetime | None = None) -> tuple[datetime | None, list[dict[str, Any]]]:
    """Return the latest IP status snapshot's time and its blocked ranges; (None, []) when there is none.

    An empty export stores no rows, so a successful SNDS fetch after the
    latest stored snapshot means that nothing is blocked any more: the
    result is then the fetch time and no ranges. With `at`, only snapshots
    and fetches at or before `at` count.
    """
    conditions = [snds_ip_status.c.tenant == tenant]
    if at is not None:
        conditions.append(snds_ip_status.c.snapshot_at <= as_utc(at))
    snapshot = conn.execute(sa.select(sa.func.max(snds_ip_status.c.snapshot_at)).where(*conditions)).scalar()
    state = feed_states(conn, tenant).get("snds")
    fetched = state.last_success_at if state is not None else None
    # NOTE: only the last successful fetch is stored, so when replaying a time
    # before it, an empty export fetched between the snapshot and `at` is not seen.
    if at is not None and fetched is not None and fetched > as_utc(at):
        fetched = None
    if fetched is not None and (snapshot is None or fetched > as_utc(snapshot)):
        return fetched, []
    if snapshot is None:
        return None, []
    rows = conn.execute(
        sa.select(snds_ip_status)
        .where(snds_ip_status.c.tenant == tenant, snds_ip_status.c.snapshot_at == snapshot)
        .order_by(snds_ip_status.c.first_ip)
    ).mappings()
    return as_utc(snapshot), [dict(row) for row in rows]


def postmaster_days(
    conn: sa.Connection, tenant: str, domain: str | None = None, limit: int = 2, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Return the latest `limit` days of Postmaster statistics per domain, newest first within a domain.

    With `at`, only days that ended before `at` (in UTC) count.
    """
    query = sa.select(postmaster_stats).where(postmaster_stats.c.tenant == tenant)
    if at is not None:
        query = query.where(postmaster_stats.c.day < as_utc(at).date())
    if domain is not None:
        query = query.where(postmaster_stats.c.domain == domain)
    rows = conn.execute(query.order_by(postmaster_stats.c.domain, postmaster_stats.c.day.desc())).mappings()
    result: list[dict[str, Any]] = []
    per_domain: dict[str, int] = {}
    for row in rows:
        count = per_domain.get(row["domain"], 0)
        if count < limit:
            result.append(dict(row))
            per_domain[row["domain"]] = count + 1
    return result


def postmaster_unknown_fields(conn: sa.Connection, tenant: str) -> list[str]:
    """Return, sorted, every Postmaster response field that stored rows list as not read by inboxwatch."""
    query = sa.select(postmaster_stats.c.unknown_fields).where(postmaster_stats.c.tenant == tenant)
    fields: set[str] = set()
    for (names,) in conn.execute(query):
        fields.update(names or [])
    return sorted(fields)


def latest_sender_scores(conn: sa.Connection, tenant: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """Return each IP's most recent Sender Score lookup; with `at`, the most recent at or before `at`."""
    conditions = [sender_scores.c.tenant == tenant]
    if at is not None:
        conditions.append(sender_scores.c.checked_at <= as_utc(at))
    latest = (
        sa.select(sender_scores.c.ip, sa.func.max(sender_scores.c.checked_at).label("checked"))
        .where(*conditions)
        .group_by(sender_scores.c.ip)
        .subquery()
    )
    query = (
        sa.select(sender_scores)
        .join(latest, sa.and_(sender_scores.c.ip == latest.c.ip, sender_scores.c.checked_at == latest.c.checked))
        .where(sender_scores.c.tenant == tenant)
        .order_by(sender_scores.c.ip)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def postmaster_spam_rates(conn: sa.Connection, tenant: str | None, first_day: date, last_day: date) -> list[float]:
    """Return the stored Postmaster spam rates of every domain's days from `first_day` to `last_day` inclusive; `tenant` None reads every tenant."""
    table = postmaster_stats.c
    query = sa.select(table.spam_rate).where(table.day >= first_day, table.day <= last_day, table.spam_rate.is_not(None))
    if tenant is not None:
        query = query.where(table.tenant == tenant)
    return [float(value) for (value,) in conn.execute(query)]
