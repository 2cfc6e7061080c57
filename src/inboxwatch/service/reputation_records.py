"""Ingest handlers that store SNDS and Postmaster Tools records read from files.

An SNDS IP status file is one snapshot, taken at ingest time, because the
export carries no date of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa

from inboxwatch.model.reputation import PostmasterDayRecord, SndsDataRecord, SndsIpStatusRecord
from inboxwatch.service.records import RecordContext
from inboxwatch.store.reputation import store_postmaster, store_snds_data, store_snds_status

log = logging.getLogger(__name__)


def store_snds_data_batch(conn: sa.Connection, records: Sequence[SndsDataRecord], context: RecordContext) -> None:
    counts = store_snds_data(conn, records, tenant=context.tenant, now=context.now)
    log.info("%s: %d SNDS data rows stored, %d already stored", context.source, counts.stored, counts.duplicates)


def store_snds_status_batch(conn: sa.Connection, records: Sequence[SndsIpStatusRecord], context: RecordContext) -> None:
    counts = store_snds_status(conn, records, tenant=context.tenant, snapshot_at=context.now)
    log.info("%s: %d SNDS IP status ranges stored", context.source, counts.stored)


def store_postmaster_batch(conn: sa.Connection, records: Sequence[PostmasterDayRecord], context: RecordContext) -> None:
    counts = store_postmaster(conn, records, tenant=context.tenant, now=context.now)
    log.info("%s: %d Postmaster Tools days stored or updated, %d unchanged", context.source, counts.stored, counts.duplicates)


RECORD_HANDLERS = {
    SndsDataRecord: store_snds_data_batch,
    SndsIpStatusRecord: store_snds_status_batch,
    PostmasterDayRecord: store_postmaster_batch,
}
