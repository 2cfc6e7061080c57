"""`GET /api/v1/overview`: counts and rates per group over 24 hours, 7 days or 30 days, shaped for charts."""

from __future__ import annotations


from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from inboxwatch.analysis.overview import RANGES, build_overview
from inboxwatch.store.metrics import FilterValue
from inboxwatch.web.auth import require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST
from inboxwatch.web.params import group_dimensions

router = APIRouter(
    prefix="/api/v1/overview", tags=["metrics"], dependencies=[Depends(require_viewer)], responses={**BAD_REQUEST, **AUTHENTICATION}
)


def overview_filters(provider: str | None, ip: str | None, domain: str | None, campaign: str | None) -> dict[str, FilterValue]:
    """Return the rollup filters for the drill-down parameters that are set."""
    given = {"provider": provider, "sending_ip": ip, "sending_domain": domain, "campaign": campaign}
    return {name: value for name, value in given.items() if value}


def one_dimension(text: str) -> str:
    invalid = HTTPException(400, "invalid group_by %r: expected exactly one of provider, ip, domain, campaign, tenant" % text)
    try:
        dimensions = group_dimensions(text)
    except HTTPException:
        raise invalid from None
    if len(dimensions) != 1:
        raise invalid
    return dimensions[0]


@router.get("", summary="Counts, rates and chart lines per group over a named range")
def get_overview(
    range_name: str = Query("24h", alias="range", description="24h (15-minute steps), 7d (2-hour steps) or 30d (12-hour steps)"),
    group_by: str = Query("provider", description="One of provider, ip, domain, campaign, tenant"),
    provider: str | None = Query(None, description="Only this mailbox provider"),
    ip: str | None = Query(None, description="Only this sending IP"),
    domain: str | None = Query(None, description="Only this sending domain"),
    campaign: str | None = Query(None, description="Only this campaign"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> JSONResponse:
    overview_range = RANGES.get(range_name)
    if overview_range is None:
        raise HTTPException(400, "invalid range %r: expected one of %s" % (range_name, ", ".join(RANGES)))
    dimension = one_dimension(group_by)
    where = overview_filters(provider, ip, domain, campaign)
    with context.engine.connect() as conn:
        overview = build_overview(conn, overview_range, now=context.clock(), dimension=dimension, where=where, tenant=tenant)
    filters = {"provider": provider, "ip": ip, "domain": domain, "campaign": campaign, "tenant": tenant}
    # The body contains only JSON types already, so FastAPI's jsonable_encoder
    # is skipped: on a 24-hour overview it took about a tenth of the request time.
    return JSONResponse({**overview, "filters": filters})
