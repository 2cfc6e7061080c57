"""`/api/v1/export`: metrics and alerts for a time range as CSV or JSON, streamed row by row.

The store is read a day of steps at a time (alerts 500 at a time), so an
export of any length uses little memory. Metric rows whose counts are all
zero are left out. CSV cells that start with `=`, `+`, `-`, `@`, a tab or
a carriage return get a leading `'`, because spreadsheets run such cells
as formulas and campaign names and labels come from outside (the OWASP
"CSV Injection" page recommends this).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from inboxwatch.analysis.rates import RATE_NAMES, rates_for
from inboxwatch.model.alerts import Alert
from inboxwatch.store.metrics import COUNT_FIELDS, CountRow, query_series
from inboxwatch.store.overview import iter_alerts
from inboxwatch.web.api_alerts import alert_json
from inboxwatch.web.auth import require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST
from inboxwatch.web.params import group_dimensions, parse_step, time_range

router = APIRouter(
    prefix="/api/v1/export", tags=["export"], dependencies=[Depends(require_viewer)], responses={**BAD_REQUEST, **AUTHENTICATION}
)

# Steps read per query: one day's worth, or one step when a step is longer than a day.
CHUNK_LENGTH = timedelta(days=1)

# Maximum range of one metrics export, so that one request cannot run a query per day for centuries.
MAX_EXPORT_RANGE = timedelta(days=3660)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ALERT_COLUMNS = (
    "id", "fingerprint", "rule", "tenant", "labels", "severity", "state", "summary", "value", "threshold", "denominator",
    "pending_since", "fired_at", "resolved_at", "acknowledged_at", "acknowledged_by", "ack_note",
)

GROUP_BY_HELP = "Comma-separated: provider, ip, domain, campaign, tenant; empty for totals"


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Yield each row as one CSV line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def json_document(header: dict[str, Any], key: str, items: Iterable[dict[str, Any]]) -> Iterator[str]:
    """Yield a JSON object made of `header` plus `key`: an array of `items`, written item by item."""
    yield json.dumps(header)[:-1] + (", " if header else "") + json.dumps(key) + ": ["
    for number, item in enumerate(items):
        yield ("," if number else "") + "\n" + json.dumps(item)
    yield "\n]}\n"


def metric_rows(
    engine: sa.Engine, start: datetime, end: datetime, step: timedelta, group_by: tuple[str, ...], tenant: str | None
) -> Iterator[tuple[datetime, CountRow]]:
    """Yield (step start, counts) for each step and group with any count, reading one chunk of steps per query."""
    chunk = step * max(1, CHUNK_LENGTH // step)
    chunk_start = start
    while chunk_start < end:
        # Compared before adding, so a range ending near year 9999 does not overflow.
        chunk_end = end if end - chunk_start <= chunk else chunk_start + chunk
        with engine.connect() as conn:
            series = query_series(conn, start=chunk_start, end=chunk_end, step=step, group_by=group_by, tenant=tenant)
        for time, row in series:
            if any(getattr(row, name) for name in COUNT_FIELDS):
                yield time, row
        chunk_start = chunk_end


def metrics_range(start: str | None, end: str | None, context: WebContext) -> tuple[datetime, datetime]:
    start_time, end_time = time_range(start, end, context.clock)
    if end_time - start_time > MAX_EXPORT_RANGE:
        days = (end_time - start_time).days
        raise HTTPException(400, "invalid time range: %d days is more than the maximum of %d per export; split it into several requests" % (days, MAX_EXPORT_RANGE.days))
    return start_time, end_time


def metric_csv_row(time: datetime, row: CountRow) -> list[Any]:
    rates = rates_for(row)
    return [time.isoformat(), *row.key, *(getattr(row, name) for name in COUNT_FIELDS), *(rates[name].value for name in RATE_NAMES)]


def metric_json_row(time: datetime, row: CountRow, group_by: tuple[str, ...]) -> dict[str, Any]:
    return {
        "time": time.isoformat(),
        "key": dict(zip(group_by, row.key)),
        "counts": {name: getattr(row, name) for name in COUNT_FIELDS},
        "rates": {
            name: {"value": rate.value, "numerator": rate.numerator, "denominator": rate.denominator}
            for name, rate in rates_for(row).items()
        },
    }


def alert_csv_row(alert: Alert) -> list[Any]:
    data = alert_json(alert)
    data["labels"] = json.dumps(data["labels"], sort_keys=True)
    return [data[name] for name in ALERT_COLUMNS]


def alerts_between(engine: sa.Engine, start: datetime, end: datetime, tenant: str | None) -> Iterator[Alert]:
    with engine.connect() as conn:
        yield from iter_alerts(conn, start=start, end=end, tenant=tenant)


def prepend(first: Any, rest: Iterable[Any]) -> Iterator[Any]:
    yield first
    yield from rest


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": 'attachment; filename="%s"' % filename}


@router.get("/metrics.csv", summary="Counts and rates per step and group as CSV", response_class=StreamingResponse)
def export_metrics_csv(
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default 24 hours before `to`"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    group_by: str = Query("provider", description=GROUP_BY_HELP),
    step: str = Query("1h", description="Step length: a whole number of minutes, such as 5m, 1h or 1d"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> StreamingResponse:
    dimensions = group_dimensions(group_by)
    start_time, end_time = metrics_range(start, end, context)
    step_length = parse_step(step)
    header = ["time", *dimensions, *COUNT_FIELDS, *RATE_NAMES]
    rows = (metric_csv_row(time, row) for time, row in metric_rows(context.engine, start_time, end_time, step_length, dimensions, tenant))
    return StreamingResponse(csv_lines(prepend(header, rows)), media_type="text/csv; charset=utf-8", headers=attachment("metrics.csv"))


@router.get("/metrics.json", summary="Counts and rates per step and group as JSON", response_class=StreamingResponse)
def export_metrics_json(
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default 24 hours before `to`"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    group_by: str = Query("provider", description=GROUP_BY_HELP),
    step: str = Query("1h", description="Step length: a whole number of minutes, such as 5m, 1h or 1d"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> StreamingResponse:
    dimensions = group_dimensions(group_by)
    start_time, end_time = metrics_range(start, end, context)
    step_length = parse_step(step)
    header = {
        "from": start_time.isoformat(),
        "to": end_time.isoformat(),
        "step_seconds": int(step_length.total_seconds()),
        "group_by": list(dimensions),
    }
    rows = (metric_json_row(time, row, dimensions) for time, row in metric_rows(context.engine, start_time, end_time, step_length, dimensions, tenant))
    return StreamingResponse(json_document(header, "rows", rows), media_type="application/json", headers=attachment("metrics.json"))


@router.get("/alerts.csv", summary="Alerts that became pending in a time range, as CSV", response_class=StreamingResponse)
def export_alerts_csv(
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default 24 hours before `to`"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> StreamingResponse:
    start_time, end_time = time_range(start, end, context.clock)
    rows = (alert_csv_row(alert) for alert in alerts_between(context.engine, start_time, end_time, tenant))
    return StreamingResponse(csv_lines(prepend(list(ALERT_COLUMNS), rows)), media_type="text/csv; charset=utf-8", headers=attachment("alerts.csv"))


@router.get("/alerts.json", summary="Alerts that became pending in a time range, as JSON", response_class=StreamingResponse)
def export_alerts_json(
    start: str | None = Query(None, alias="from", description="ISO 8601 start (inclusive); default 24 hours before `to`"),
    end: str | None = Query(None, alias="to", description="ISO 8601 end (exclusive); default now"),
    tenant: str | None = Query(None),
    context: WebContext = Depends(web_context),
) -> StreamingResponse:
    start_time, end_time = time_range(start, end, context.clock)
    header = {"from": start_time.isoformat(), "to": end_time.isoformat()}
    alerts = (alert_json(alert) for alert in alerts_between(context.engine, start_time, end_time, tenant))
    return StreamingResponse(json_document(header, "alerts", alerts), media_type="application/json", headers=attachment("alerts.json"))
