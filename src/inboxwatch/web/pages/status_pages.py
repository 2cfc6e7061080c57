"""`/dns` (the latest DNS check results and open blocklist listings) and `/dmarc` (DMARC report sources)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from inboxwatch.store.reports import dmarc_sources
from inboxwatch.store.status import dmarc_domains, latest_check_results, open_listings
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.pages.common import page_viewer, render

router = APIRouter(include_in_schema=False)

# DMARC aggregate reports usually cover one day, so a week is the shortest useful window.
DMARC_RANGES = {"7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


def check_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the table rows of one stored result: one per record check of an auth report, else one.

    An auth result's detail contains the whole domain report (`report`: SPF,
    DKIM, DMARC and the other checks, each with status, record and
    problems), which reads better split into its checks.
    """
    detail = result["detail"] if isinstance(result["detail"], dict) else {}
    report = detail.get("report")
    base = {"subject": result["subject"], "checked_at": result["checked_at"]}
    if isinstance(report, dict):
        checks = [(name, check) for name, check in report.items() if isinstance(check, dict) and "status" in check]
        if checks:
            return [
                {**base, "check": name, "status": check["status"], "record": check.get("record"), "notes": list(check.get("problems") or [])}
                for name, check in checks
            ]
    notes = [str(detail[name]) for name in ("meaning", "reason") if detail.get(name)]
    return [{**base, "check": result["check_name"], "status": result["status"], "record": None, "notes": notes}]


@router.get("/dns")
def dns_page(request: Request, token: ApiToken = Depends(page_viewer), context: WebContext = Depends(web_context)) -> Response:
    with context.engine.connect() as conn:
        results = latest_check_results(conn)
        listings = open_listings(conn)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        kinds.setdefault(result["kind"], []).extend(check_rows(result))
    return render(request, "dns.html", {"title": "DNS and blocklists", "page": "dns", "kinds": kinds, "listings": listings}, token=token)


@router.get("/dmarc")
def dmarc_page(request: Request, token: ApiToken = Depends(page_viewer), context: WebContext = Depends(web_context)) -> Response:
    range_name = request.query_params.get("range", "7d")
    if range_name not in DMARC_RANGES:
        raise HTTPException(400, "invalid range %r: expected one of %s" % (range_name, ", ".join(DMARC_RANGES)))
    end = context.clock()
    start = end - DMARC_RANGES[range_name]
    with context.engine.connect() as conn:
        domains = dmarc_domains(conn, start, end)
        chosen = request.query_params.get("domain") or (domains[0].domain if domains else None)
        sources = dmarc_sources(conn, chosen, start, end) if chosen else []
    values = {
        "title": "DMARC sources",
        "page": "dmarc",
        "range_name": range_name,
        "ranges": list(DMARC_RANGES),
        "domains": domains,
        "domain": chosen,
        "sources": sources,
    }
    return render(request, "dmarc.html", values, token=token)
