"""Storing a verified webhook payload: its receipt, then its events, before the ESP gets a 2xx.

The receipt (raw body) is committed first, so the payload survives a crash
while its events are written. Events are idempotent by event id, so an ESP
retrying a delivery whose response it never saw stores nothing twice.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import MAX_REJECTED_RAW, ParseContext
from inboxwatch.parsers.registry import get_parser
from inboxwatch.service.batches import InputSummary
from inboxwatch.service.ingest import IngestOptions, ingest_records
from inboxwatch.store.webhook_receipts import add_receipt, link_ingest

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WebhookOutcome:
    """The result of one payload. `malformed_reason` is set when nothing in it could be read."""

    summary: InputSummary
    malformed_reason: str | None


def accept_webhook(
    engine: sa.Engine,
    esp: str,
    body: bytes,
    *,
    nonce: str | None,
    options: IngestOptions,
    clock: Callable[[], datetime],
) -> WebhookOutcome:
    """Store the receipt, parse the body with the ESP's parser and ingest what it contains.

    Raises ReplayError when `nonce` was used before. A body the parser
    cannot read at all is quarantined, as are single events it rejects.
    """
    now = clock()
    with engine.begin() as conn:
        receipt_id = add_receipt(conn, esp=esp, body=body, nonce=nonce, now=now)

    source = "webhook:%s" % esp
    context = ParseContext(source=source, reference_time=now, tenant=options.tenant, local_addresses=options.local_addresses)
    unreadable: str | None = None
    try:
        # Bodies are bounded by the receiver's size limit, so the list stays small.
        items = list(get_parser(esp).parse(io.BytesIO(body), context))
    except ParseError as exc:
        unreadable = str(exc)
        items = [Rejected(error=exc, raw=body[:MAX_REJECTED_RAW].decode("utf-8", errors="replace"))]

    summary = ingest_records(engine, items, source, kind=esp, options=options, clock=clock)
    with engine.begin() as conn:
        link_ingest(conn, receipt_id, summary.ingest_id)

    if unreadable is None and summary.rejected and not (summary.events_stored + summary.duplicates):
        unreadable = "; ".join(summary.reasons) or "every event in the payload was rejected"
    return WebhookOutcome(summary=summary, malformed_reason=unreadable)
