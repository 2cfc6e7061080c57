"""Storing a verified webhook payload: its receipt and its events, before the ESP gets a 2xx.

The receipt (raw body), the `ingests` row, the events with their rollups
and quarantine rows, and the receipt's link to the ingest are committed in
one transaction. So a request that fails part way stores nothing, and the
ESP's retry stores the payload whole. The commit syncs to disk (see
`store.durable`), because the ESP never sends an acknowledged payload again.
Events are idempotent by event id, so an ESP retrying a delivery whose
response it never saw stores nothing twice.
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
from inboxwatch.store.durable import durable_transaction
from inboxwatch.store.savepoints import SavepointEngine
from inboxwatch.store.webhook_receipts import add_receipt, link_ingest
from inboxwatch.store.write_lock import write_lock

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
    """Parse the body with the ESP's parser, then store the receipt and what the body contains in one transaction.

    Raises ReplayError when `nonce` was used before. A body the parser
    cannot read at all is quarantined, as are single events it rejects.
    Any exception means that nothing was committed.
    """
    now = clock()
    source = "webhook:%s" % esp
    context = ParseContext(source=source, reference_time=now, tenant=options.tenant, local_addresses=options.local_addresses)
    unreadable: str | None = None
    try:
        # Bodies are bounded by the receiver's size limit, so the list stays small.
        items = list(get_parser(esp).parse(io.BytesIO(body), context))
    except ParseError as exc:
        unreadable = str(exc)
        items = [Rejected(error=exc, raw=body[:MAX_REJECTED_RAW].decode("utf-8", errors="replace"))]

    with write_lock(engine), durable_transaction(engine) as conn:
        # The receipt is the transaction's first write, which SavepointEngine needs on SQLite.
        receipt_id = add_receipt(conn, esp=esp, body=body, nonce=nonce, now=now)
        summary = ingest_records(SavepointEngine(conn), items, source, kind=esp, options=options, clock=clock)
        link_ingest(conn, receipt_id, summary.ingest_id)

    if unreadable is None and summary.rejected and not (summary.events_stored + summary.duplicates):
        unreadable = "; ".join(summary.reasons) or "every event in the payload was rejected"
    return WebhookOutcome(summary=summary, malformed_reason=unreadable)
