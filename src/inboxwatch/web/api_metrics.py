"""`/api/v1/metrics`: outcome counts and rates by provider, IP, domain and campaign over a time range."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query

from inboxwatch.analysis.rates import rates_for
from inboxwatch.store.metrics import COUNT_FIELDS, CountRow, query_counts, query_series
from inboxwatch.web.auth import require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST
from inboxwatch.web.params import group_dimensions, parse_step, time_range

router = APIRouter(
    prefix="/api/v1/metrics", tags=["metrics"], dependencies=[Depends(require_viewer)], responses={**BAD_REQUEST, **AUTHENTICATION}
)

# A series longer than this is refused, so one request cannot build a huge response.
MAX_SERIES_STEPS = 5000


def row_json(row: CountRow, group_by: tuple[str, ...]) -> dict[str, Any]:
    return {
        "key": dict(zip(group_by, row.key)),
        "counts": {name: getattr(row, name) for name in COUNT_FIELDS},
        "rates": {
            name: {"value": rate.value, "numerator": rate.numerator, "denominator": rate.denominator}
            for name, rate in rates_for(row).items()
        },
    }


@router.get("", summary="Counts and rates per group over a time range")
def get_metrics(
    group_by: str = Query("provider", description="Comma-separated: provider, ip, domain, campaign, tenant"),
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default 24 hours before `to`"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    dimensions = group_dimensions(group_by)
    start_time, end_time = time_range(start, end, context.clock)
    with context.engine.connect() as conn:
        rows = query_counts(conn, start=start_time, end=end_time, group_by=dimensions, tenant=tenant)
    return {
        "from": start_time.isoformat(),
        "to": end_time.isoformat(),
        "group_by": list(dimensions),
        "rows": [row_json(row, dimensions) for row in rows],
    }


@router.get("/series", summary="Counts and rates per time step and group")
def get_series(
    step: str = Query("1h", description="Step length: a whole number of minutes, such as 5m, 1h or 1d"),
    group_by: str = Query("", description="Comma-separated: provider, ip, domain, campaign, tenant; empty for totals"),
    start: str | None = Query(None, alias="from"),
    end: str | None = Query(None, alias="to"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    dimensions = group_dimensions(group_by)
    start_time, end_time = time_range(start, end, context.clock)
    step_length = parse_step(step)
    if (end_time - start_time) / step_length > MAX_SERIES_STEPS:
        raise HTTPException(400, "too many steps: at most %d per request; use a longer step or a shorter range" % MAX_SERIES_STEPS)
    with context.engine.connect() as conn:
        series = query_series(conn, start=start_time, end=end_time, step=step_length, group_by=dimensions, tenant=tenant)
    return {
        "from": start_time.isoformat(),
        "to": end_time.isoformat(),
        "step_seconds": int(step_length.total_seconds()),
        "group_by": list(dimensions),
        "points": [{"time": time.isoformat(), **row_json(row, dimensions)} for time, row in series],
    }
