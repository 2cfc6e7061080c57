"""Stored DNS check results and blocklist listing episodes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import blocklist_listings, dns_check_results

LISTING_TIMES = ("first_detected_at", "last_checked_at", "delisted_at")


def insert_check_results(conn: sa.Connection, tenant: str, checked_at: datetime, kind: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Store results; each row has subject, check_name, status and detail (JSON-ready)."""
    values = [
        {"checked_at": as_utc(checked_at), "tenant": tenant, "kind": kind, "subject": row["subject"], "check_name": row["check_name"], "status": row["status"], "detail": row["detail"]}
        for row in rows
    ]
    if values:
        conn.execute(dns_check_results.insert(), values)
    return len(values)


def latest_check_detail(conn: sa.Connection, tenant: str, kind: str, subject: str, check_name: str) -> dict[str, Any] | None:
    """Return the detail of the newest result for one subject and check, or None."""
    table = dns_check_results.c
    query = (
        sa.select(table.detail)
        .where(table.tenant == tenant, table.kind == kind, table.subject == subject, table.check_name == check_name)
        .order_by(table.checked_at.desc(), table.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar_one_or_none()


def latest_listings(conn: sa.Connection, tenant: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the newest episode of each (asset, list) pair, open or delisted."""
    rows = conn.execute(sa.select(blocklist_listings).where(blocklist_listings.c.tenant == tenant).order_by(blocklist_listings.c.first_detected_at)).mappings()
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        episode = dict(row)
        for name in LISTING_TIMES:
            if episode[name] is not None:
                episode[name] = as_utc(episode[name])
        latest[(episode["asset"], episode["list_name"])] = episode
    return latest


def save_listing(conn: sa.Connection, tenant: str, episode: Mapping[str, Any]) -> None:
    """Insert or update one episode, identified by tenant, asset, list and first-detected time."""
    values = {name: episode[name] for name in ("asset", "list_name", "confirmations", "codes", "meaning")}
    values.update({name: as_utc(episode[name]) if episode[name] is not None else None for name in LISTING_TIMES})
    key = blocklist_listings.c
    where = (
        (key.tenant == tenant)
        & (key.asset == values["asset"])
        & (key.list_name == values["list_name"])
        & (key.first_detected_at == values["first_detected_at"])
    )
    updated = conn.execute(blocklist_listings.update().where(where).values(**values))
    if updated.rowcount == 0:
        conn.execute(blocklist_listings.insert().values(tenant=tenant, **values))


def latest_check_time(conn: sa.Connection, tenant: str, kind: str) -> datetime | None:
    """Return when `tenant`'s newest result of `kind` ("blocklist" or "auth") was checked, or None."""
    table = dns_check_results.c
    latest = conn.execute(sa.select(sa.func.max(table.checked_at)).where(table.tenant == tenant, table.kind == kind)).scalar_one_or_none()
    return as_utc(latest) if latest is not None else None


def latest_results_by_subject(conn: sa.Connection, tenant: str, kind: str, at: datetime) -> list[dict[str, Any]]:
    """Return the newest result of `kind` per subject and check checked at or before `at`, sorted by subject and check."""
    table = dns_check_results.c
    newest = (
        sa.select(table.subject, table.check_name, sa.func.max(table.checked_at).label("checked_at"))
        .where(table.tenant == tenant, table.kind == kind, table.checked_at <= as_utc(at))
        .group_by(table.subject, table.check_name)
        .subquery()
    )
    query = (
        sa.select(dns_check_results)
        .join(
            newest,
            sa.and_(table.subject == newest.c.subject, table.check_name == newest.c.check_name, table.checked_at == newest.c.checked_at),
        )
        .where(table.tenant == tenant, table.kind == kind)
        .order_by(table.subject, table.check_name, table.id.desc())
    )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in conn.execute(query).mappings():
        # Two results stored at the same time: the later insert wins.
        latest.setdefault((row["subject"], row["check_name"]), {**row, "checked_at": as_utc(row["checked_at"])})
    return list(latest.values())
