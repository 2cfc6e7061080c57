"""Ingest handlers that store DMARC aggregate, DMARC failure and SMTP TLS reports."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from inboxwatch.model.reports import AggregateReport, FailureReport, TlsReport
from inboxwatch.service.records import HandlerResult, RecordContext
from inboxwatch.store.reports import store_aggregate_reports, store_failure_reports, store_tls_reports

log = logging.getLogger(__name__)


def store_aggregate_batch(conn: sa.Connection, reports: Sequence[AggregateReport], context: RecordContext) -> HandlerResult:
    counts = store_aggregate_reports(conn, reports, tenant=context.tenant, ingest_id=context.ingest_id, now=context.now)
    log.info("%s: %d DMARC aggregate reports stored, %d already stored", context.source, counts.stored, counts.duplicates)
    return HandlerResult(records_stored=counts.stored, duplicates=counts.duplicates)


def store_failure_batch(conn: sa.Connection, reports: Sequence[FailureReport], context: RecordContext) -> HandlerResult:
    counts = store_failure_reports(
        conn,
        reports,
        tenant=context.tenant,
        ingest_id=context.ingest_id,
        now=context.now,
        recipient_retention=context.recipient_retention,
    )
    log.info("%s: %d DMARC failure reports stored, %d already stored", context.source, counts.stored, counts.duplicates)
    return HandlerResult(records_stored=counts.stored, duplicates=counts.duplicates)


def store_tls_batch(conn: sa.Connection, reports: Sequence[TlsReport], context: RecordContext) -> HandlerResult:
    counts = store_tls_reports(conn, reports, tenant=context.tenant, ingest_id=context.ingest_id, now=context.now)
    log.info("%s: %d SMTP TLS reports stored, %d already stored", context.source, counts.stored, counts.duplicates)
    return HandlerResult(records_stored=counts.stored, duplicates=counts.duplicates)


RECORD_HANDLERS = {
    AggregateReport: store_aggregate_batch,
    FailureReport: store_failure_batch,
    TlsReport: store_tls_batch,
}
