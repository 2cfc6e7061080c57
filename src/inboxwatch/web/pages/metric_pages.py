"""`/` (the overview, by provider) and `/drill` (by provider, IP, domain or campaign, with filters)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from inboxwatch.analysis.overview import RANGES, build_overview
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.api_overview import overview_filters
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.pages.common import page_viewer, render

router = APIRouter(include_in_schema=False)

# Drill-down dimensions in the order a click walks through them, with the API's parameter names.
DRILL_ORDER = ("provider", "ip", "domain", "campaign")
DIMENSION_OF = {"provider": "provider", "ip": "sending_ip", "domain": "sending_domain", "campaign": "campaign"}
LABELS = {"provider": "Provider", "ip": "Sending IP", "domain": "Sending domain", "campaign": "Campaign"}


def page_values(context: WebContext, path: str, by: str, range_name: str, filters: dict[str, str]) -> dict[str, Any]:
    if range_name not in RANGES:
        raise HTTPException(400, "invalid range %r: expected one of %s" % (range_name, ", ".join(RANGES)))
    if by not in DRILL_ORDER:
        raise HTTPException(400, "invalid dimension %r: expected one of %s" % (by, ", ".join(DRILL_ORDER)))
    where = overview_filters(filters.get("provider"), filters.get("ip"), filters.get("domain"), filters.get("campaign"))
    with context.engine.connect() as conn:
        overview = build_overview(conn, RANGES[range_name], now=context.clock(), dimension=DIMENSION_OF[by], where=where)
    api_query = {"range": range_name, "group_by": by, **filters}
    next_by = next_dimension(by, filters)
    return {
        "overview": overview,
        "by": by,
        "by_label": LABELS[by],
        "range_name": range_name,
        "ranges": list(RANGES),
        "filters": filters,
        "dimensions": DRILL_ORDER,
        "labels": LABELS,
        "api_url": "/api/v1/overview?" + urlencode(api_query),
        "range_links": {name: link(path, filters, range=name, by=by) for name in RANGES},
        "by_links": {name: link("/drill", filters, range=range_name, by=name) for name in DRILL_ORDER},
        "remove_links": {
            name: link("/drill", {key: value for key, value in filters.items() if key != name}, range=range_name, by=by) for name in filters
        },
        "row_links": {
            row["key"]: link("/drill", {**filters, by: row["key"]}, range=range_name, by=next_by) for row in overview["totals"]
        } if next_by else {},
        "export_query": urlencode({"from": overview["from"], "to": overview["to"], "group_by": by}),
    }


def link(path: str, filters: dict[str, str], **parameters: str) -> str:
    return path + "?" + urlencode({**parameters, **filters})


def next_dimension(by: str, filters: dict[str, str]) -> str | None:
    """Return the dimension a click on a row drills into: the next one in DRILL_ORDER not yet filtered."""
    for name in DRILL_ORDER[DRILL_ORDER.index(by) + 1 :]:
        if name not in filters:
            return name
    return None


def query_filters(request: Request) -> dict[str, str]:
    return {name: request.query_params[name] for name in DRILL_ORDER if request.query_params.get(name)}


@router.get("/")
def overview_page(
    request: Request, token: ApiToken = Depends(page_viewer), context: WebContext = Depends(web_context)
) -> Response:
    range_name = request.query_params.get("range", "24h")
    values = page_values(context, "/", "provider", range_name, {})
    return render(request, "metrics.html", {"title": "Overview", "page": "overview", **values}, token=token)


@router.get("/drill")
def drill_page(request: Request, token: ApiToken = Depends(page_viewer), context: WebContext = Depends(web_context)) -> Response:
    by = request.query_params.get("by", "provider")
    range_name = request.query_params.get("range", "24h")
    values = page_values(context, "/drill", by, range_name, query_filters(request))
    return render(request, "metrics.html", {"title": "By " + values["by_label"][0].lower() + values["by_label"][1:], "page": "drill", **values}, token=token)
