"""`GET /api/v1/alerts/stream`: alert state changes as server-sent events.

The handler polls `alert_history` once a second for rows newer than the
last one sent, so it works unchanged when the evaluator runs in another
process or on another machine. Each change is one `alert` event whose id
is the history row id. A browser's EventSource sends that id back in
`Last-Event-ID` when it reconnects, so no change is lost across a dropped
connection. A comment line goes out after 15 seconds without events, so
proxies that close idle connections keep this one open. The stream ends
within a poll interval of the server starting to shut down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from inboxwatch.store.overview import alert_changes, last_history_id
from inboxwatch.web.auth import require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.params import MAX_ROW_ID
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST

log = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"])

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# History rows read per poll; a larger backlog drains over the following polls.
BATCH_SIZE = 100
# Milliseconds the browser waits before reconnecting a dropped stream (the SSE `retry` field).
RETRY_MILLISECONDS = 3000


def change_json(change: dict[str, Any]) -> dict[str, Any]:
    return {**change, "time": change["time"].isoformat()}


def sse_event(change: dict[str, Any]) -> str:
    return "id: %d\nevent: alert\ndata: %s\n\n" % (change["id"], json.dumps(change_json(change)))


async def alert_events(
    engine: sa.Engine,
    after_id: int,
    is_disconnected: Callable[[], Awaitable[bool]],
    *,
    stopping: threading.Event | None = None,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> AsyncIterator[str]:
    """Yield SSE text: each alert change after `after_id`, and a heartbeat comment when idle, until the client leaves or `stopping` is set."""
    stopping = stopping or threading.Event()

    def read_changes(last_id: int) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return alert_changes(conn, after_id=last_id, limit=BATCH_SIZE)

    yield "retry: %d\n\n" % RETRY_MILLISECONDS
    last_write = time.monotonic()
    while not stopping.is_set() and not await is_disconnected():
        try:
            changes = await run_in_threadpool(read_changes, after_id)
        except sa.exc.SQLAlchemyError as exc:
            # A locked or restarting store is retried at the next poll; the client keeps its place.
            log.warning("alert stream: reading alert history after id %d failed: %s", after_id, exc)
            changes = []
        for change in changes:
            after_id = change["id"]
            yield sse_event(change)
        if changes:
            last_write = time.monotonic()
        elif time.monotonic() - last_write >= heartbeat_seconds:
            yield ": heartbeat\n\n"
            last_write = time.monotonic()
        await asyncio.sleep(poll_seconds)


def parse_last_event_id(text: str) -> int:
    expected = "expected the id of an alert event, a whole number from 0 to %d" % MAX_ROW_ID
    # isdecimal, not isdigit: int() rejects digits such as superscripts that isdigit accepts.
    if not text.isdecimal() or not text.isascii():
        raise HTTPException(400, "invalid Last-Event-ID %r: %s" % (text, expected))
    value = int(text)
    if value > MAX_ROW_ID:
        raise HTTPException(400, "invalid Last-Event-ID %r: %s" % (text, expected))
    return value


@router.get(
    "/api/v1/alerts/stream",
    summary="Alert state changes as server-sent events",
    response_class=StreamingResponse,
    dependencies=[Depends(require_viewer)],
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream"}, **BAD_REQUEST, **AUTHENTICATION},
)
async def stream_alerts(
    request: Request,
    last_event_id: str | None = Header(None, description="Resume after this event id; default: only changes from now on"),
    context: WebContext = Depends(web_context),
) -> StreamingResponse:
    if last_event_id is not None:
        after_id = parse_last_event_id(last_event_id.strip())
    else:
        after_id = await run_in_threadpool(newest_history_id, context.engine)
    events = alert_events(context.engine, after_id, request.is_disconnected, stopping=context.stopping)
    # X-Accel-Buffering stops nginx from holding events back in its buffer.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def newest_history_id(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return last_history_id(conn)
