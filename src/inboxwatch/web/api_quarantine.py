"""`/api/v1/quarantine`: inputs and events that could not be read, with the reason."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from inboxwatch.store.quarantine import list_quarantine
from inboxwatch.web.auth import require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST
from inboxwatch.web.params import parse_time

router = APIRouter(
    prefix="/api/v1/quarantine", tags=["quarantine"], dependencies=[Depends(require_viewer)], responses={**BAD_REQUEST, **AUTHENTICATION}
)


@router.get("", summary="List quarantined items, newest first")
def get_quarantine(
    since: str | None = Query(None, description="ISO 8601: only items received at or after this time"),
    source: str | None = Query(None, description="Only items from this source, such as webhook:sendgrid"),
    limit: int = Query(100, ge=1, le=1000),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    since_time = parse_time(since, "since") if since else None
    with context.engine.connect() as conn:
        items = list_quarantine(conn, since=since_time, source=source, limit=limit)
    return {
        "items": [
            {
                "id": item.id,
                "received_at": item.received_at.isoformat() if item.received_at else None,
                "source": item.source,
                "kind": item.kind,
                "location": item.location,
                "reason": item.reason,
                "raw": item.raw,
                "ingest_id": item.ingest_id,
            }
            for item in items
        ]
    }
