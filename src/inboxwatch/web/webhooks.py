"""`POST /webhooks/{esp}`: receivers for ESP event webhooks.

A request is verified with the ESP's own scheme, then its receipt and
events are committed, and only then does the ESP get a 2xx. The status codes:

- 200: stored, or only duplicates.
- 400: the payload could not be read. It is quarantined.
- 401: credentials or signature missing. For Mailgun and SES the signature
  is inside the body, so a body that is not valid JSON gets 401, not 400,
  and is not quarantined.
- 403: wrong, stale or replayed.
- 404: no `[webhooks.<esp>]` table. 413: body too large.
- 503: the store failed, so the ESP retries later.
"""

from __future__ import annotations

import json
import logging

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from inboxwatch.config.webhooks import WEBHOOK_ESPS
from inboxwatch.errors import StoreError
from inboxwatch.parsers.jsoninput import MAX_JSON_BYTES
from inboxwatch.service.webhook_intake import accept_webhook
from inboxwatch.store.webhook_receipts import ReplayError
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.verify.base import VerificationError, WebhookRequest
from inboxwatch.web.verify.sns import confirm_subscription

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"])

# The largest body read; the parsers read no more than this either.
MAX_BODY_BYTES = MAX_JSON_BYTES


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.head("/webhooks/{esp}", include_in_schema=False)
async def check_webhook(esp: str, context: WebContext = Depends(web_context)) -> Response:
    """Return 200 to the HEAD request Mandrill sends to check a URL before it saves a webhook."""
    return Response(status_code=200 if esp in context.verifiers else 404)


@router.post("/webhooks/{esp}", summary="Receive ESP webhook events")
async def receive_webhook(esp: str, request: Request, context: WebContext = Depends(web_context)) -> Response:
    verifier = context.verifiers.get(esp)
    if verifier is None:
        return JSONResponse({"detail": unconfigured_message(esp)}, 404)
    counter = context.webhook_requests
    try:
        body = await read_body(request)
    except BodyTooLarge:
        counter.labels(esp, "malformed").inc()
        return JSONResponse({"detail": "body too large: the limit is %d bytes" % MAX_BODY_BYTES}, 413)

    webhook_request = WebhookRequest(
        url=str(request.url), headers={name.lower(): value for name, value in request.headers.items()}, body=body
    )
    try:
        # Verification may fetch the SNS signing certificate, so it runs off the event loop.
        nonce = await run_in_threadpool(verifier.verify, webhook_request, context.clock())
    except VerificationError as exc:
        counter.labels(esp, "unauthorized").inc()
        log.warning("%s webhook from %s rejected: %s", esp, client_of(request), exc)
        return JSONResponse({"detail": str(exc)}, exc.status)

    if esp == "ses":
        envelope = json.loads(body)
        if envelope.get("Type") == "SubscriptionConfirmation":
            return await confirm_sns(envelope, context)

    try:
        outcome = await run_in_threadpool(
            accept_webhook, context.engine, esp, body, nonce=nonce, options=context.ingest_options(tenant_of(context, esp)), clock=context.clock
        )
    except ReplayError as exc:
        counter.labels(esp, "replayed").inc()
        log.warning("%s webhook from %s rejected: %s", esp, client_of(request), exc)
        return JSONResponse({"detail": str(exc)}, 403)
    except (sa.exc.SQLAlchemyError, StoreError) as exc:
        counter.labels(esp, "error").inc()
        log.error("%s webhook: storing the payload failed: %s", esp, exc)
        return JSONResponse({"detail": "storing the payload failed; retry later"}, 503)

    summary = outcome.summary
    counts = {"stored": summary.events_stored, "duplicates": summary.duplicates, "rejected": summary.rejected}
    if outcome.malformed_reason is not None:
        counter.labels(esp, "malformed").inc()
        log.warning("%s webhook from %s quarantined: %s", esp, client_of(request), outcome.malformed_reason)
        return JSONResponse({"detail": "malformed payload: %s" % outcome.malformed_reason, **counts}, 400)
    counter.labels(esp, "accepted").inc()
    return JSONResponse(counts, 200)


def unconfigured_message(esp: str) -> str:
    if esp in WEBHOOK_ESPS:
        return "no webhook receiver for %r: add a [webhooks.%s] table to the configuration" % (esp, esp)
    return "no webhook receiver for %r: not a known ESP; known: %s" % (esp, ", ".join(WEBHOOK_ESPS))


def tenant_of(context: WebContext, esp: str) -> str | None:
    return context.config.webhooks[esp].tenant


async def confirm_sns(envelope: dict, context: WebContext) -> Response:
    try:
        await run_in_threadpool(confirm_subscription, envelope, context.sns_fetch)
    except VerificationError as exc:
        context.webhook_requests.labels("ses", "unauthorized").inc()
        log.warning("SNS subscription confirmation rejected: %s", exc)
        return JSONResponse({"detail": str(exc)}, exc.status)
    except (httpx.HTTPError, OSError) as exc:
        context.webhook_requests.labels("ses", "error").inc()
        log.error("confirming SNS subscription to %s failed: %s", envelope.get("TopicArn"), exc)
        return JSONResponse({"detail": "confirming the subscription failed: %s" % exc}, 502)
    context.webhook_requests.labels("ses", "accepted").inc()
    return JSONResponse({"detail": "subscription confirmed"}, 200)
