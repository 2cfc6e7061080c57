"""`POST /api/v1/ingest`: ingest an uploaded file (multipart field `file`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool

from inboxwatch.config.models import NAME_PATTERN
from inboxwatch.errors import ParseError
from inboxwatch.parsers.registry import get_parser
from inboxwatch.service.batches import InputSummary
from inboxwatch.service.uploads import ingest_upload
from inboxwatch.store.audit import record_audit
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.auth import require_operator
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["ingest"])


@router.post(
    "/ingest",
    summary="Ingest an uploaded file; its format is detected unless `kind` names it",
    responses={
        **BAD_REQUEST,
        **AUTHENTICATION,
        422: {"description": "Invalid form field, or nothing in the file was recognised as the kind it was read as"},
    },
)
async def post_ingest(
    file: UploadFile = File(..., description="A log, ESP export, DMARC or TLS report, bounce message; gzip is read too"),
    kind: str | None = Form(None, description="Input kind, as `inboxwatch parse --help` lists them"),
    tenant: str | None = Form(None, pattern=NAME_PATTERN.pattern, description="Tenant of events that name none; default: the configured tenant"),
    token: ApiToken = Depends(require_operator),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    filename = file.filename or "upload"
    if kind:
        try:
            get_parser(kind)
        except KeyError as exc:
            # The message lists the known kinds.
            raise HTTPException(400, str(exc.args[0])) from None
    try:
        summary = await run_in_threadpool(
            ingest_upload, context.engine, file.file, filename, kind=kind or None, options=context.ingest_options(tenant), clock=context.clock
        )
    except ParseError as exc:
        log.warning("upload %s from token %s not ingested: %s", filename, token.name, exc)
        raise HTTPException(400, "cannot ingest %s: %s" % (filename, exc.message)) from None
    result = summary_json(summary)
    actor = "token:%s" % token.name

    def audit() -> None:
        with context.engine.begin() as conn:
            record_audit(conn, actor=actor, action="ingest", target=summary.source, now=context.clock(), detail=result)

    await run_in_threadpool(audit)
    if not produced_anything(summary):
        reason = ": %s" % summary.error if summary.error else ""
        log.warning("upload %s from token %s produced nothing as %s%s", filename, token.name, summary.kind, reason)
        detail = "nothing recognised as %s in %s%s; check the file, or set the kind field to its format" % (summary.kind, filename, reason)
        raise HTTPException(422, detail)
    return result


def summary_json(summary: InputSummary) -> dict[str, Any]:
    """Return the response body: delivery event counts, other records stored by their handlers, and rejections."""
    return {
        "source": summary.source,
        "kind": summary.kind,
        "ingest_id": summary.ingest_id,
        "stored": summary.events_stored,
        "duplicates": summary.duplicates,
        "rejected": summary.rejected,
        "records_stored": summary.records_handled,
        "records_not_stored": summary.records_unhandled,
        "record_kinds": dict(sorted(summary.record_kinds.items())),
        "error": summary.error,
        "reasons": summary.reasons,
    }


def produced_anything(summary: InputSummary) -> bool:
    counts = (summary.events_stored, summary.duplicates, summary.rejected, summary.records_handled, summary.records_unhandled)
    return any(counts)
