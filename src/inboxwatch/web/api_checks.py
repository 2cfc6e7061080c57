"""`/api/v1/checks` (DNS, blocklist and authentication results) and `/api/v1/dmarc` (DMARC aggregate report sources)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from inboxwatch.store.reports import dmarc_sources
from inboxwatch.store.status import check_history, dmarc_domains, latest_check_results, open_listings
from inboxwatch.web.auth import require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.params import parse_time
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_viewer)], responses={**BAD_REQUEST, **AUTHENTICATION})

# DMARC aggregate reports usually cover one day, so the default window is a week.
DEFAULT_DMARC_WINDOW = timedelta(days=7)


def result_json(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "checked_at": result["checked_at"].isoformat()}


def listing_json(listing: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in listing.items()
        if name != "id"
    }


@router.get("/checks", tags=["checks"], summary="The newest result of every check, and the open blocklist listings")
def get_checks(context: WebContext = Depends(web_context)) -> dict[str, Any]:
    with context.engine.connect() as conn:
        results = latest_check_results(conn)
        listings = open_listings(conn)
    return {"results": [result_json(result) for result in results], "open_listings": [listing_json(item) for item in listings]}


@router.get("/checks/history", tags=["checks"], summary="Stored check results, newest first")
def get_check_history(
    kind: str | None = Query(None, description="Only this kind of check, such as blocklist or auth"),
    subject: str | None = Query(None, description="Only this IP address or domain"),
    check: str | None = Query(None, description="Only this check name, such as a list zone or spf"),
    since: str | None = Query(None, alias="from", description="ISO 8601: only results checked at or after this time"),
    until: str | None = Query(None, alias="to", description="ISO 8601: only results checked before this time"),
    limit: int = Query(100, ge=1, le=1000),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    start = parse_time(since, "from") if since else None
    end = parse_time(until, "to") if until else None
    if start is not None and end is not None and start >= end:
        raise HTTPException(400, "invalid time range: from %s is not before to %s" % (start.isoformat(), end.isoformat()))
    with context.engine.connect() as conn:
        results = check_history(conn, kind=kind, subject=subject, check_name=check, since=start, until=end, limit=limit)
    return {"results": [result_json(result) for result in results]}


@router.get("/dmarc/sources", tags=["dmarc"], summary="DMARC aggregate report sources per policy domain")
def get_dmarc_sources(
    domain: str | None = Query(None, description="Policy domain; default: the one with the most messages in the window"),
    since: str | None = Query(None, alias="from", description="ISO 8601 window start; default: 7 days before `to`"),
    until: str | None = Query(None, alias="to", description="ISO 8601 window end; default: now"),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    end = parse_time(until, "to") if until else context.clock()
    start = parse_time(since, "from") if since else end - DEFAULT_DMARC_WINDOW
    if start >= end:
        raise HTTPException(400, "invalid time range: from %s is not before to %s" % (start.isoformat(), end.isoformat()))
    with context.engine.connect() as conn:
        domains = dmarc_domains(conn, start, end)
        chosen = domain.strip().lower() if domain else None
        if chosen is None and domains:
            chosen = domains[0].domain
        sources = dmarc_sources(conn, chosen, start, end) if chosen else []
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "domains": [dataclasses.asdict(item) for item in domains],
        "domain": chosen,
        "sources": [{**dataclasses.asdict(source), "pass_rate": source.pass_rate} for source in sources],
    }
