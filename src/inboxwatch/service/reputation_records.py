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

# Postmaster fields already logged as unknown by this process. Each name is
# logged once, because every fetch and every export of a day repeats it.
_logged_unknown_fields: set[str] = set()


def log_unknown_fields(records: Sequence[PostmasterDayRecord], source: str) -> list[str]:
    """Log a warning for each Postmaster field not read by inboxwatch that this process has not logged yet; return all such fields of `records`, sorted."""
    seen: set[str] = set()
    for record in records:
        for field in record.unknown_fields:
            seen.add(field)
            if field not in _logged_unknown_fields:
                _logged_unknown_fields.add(field)
                log.warning(
                    "%s: Postmaster Tools field %s (first seen for %s on %s) is not read by this version of inboxwatch; no value is taken from it",
                    source,
                    field,
                    record.domain,
                    record.day.isoformat(),
                )
    return sorted(seen)


def store_snds_data_batch(conn: sa.Connection, records: Sequence[SndsDataRecord], context: RecordContext) -> None:
    counts = store_snds_data(conn, records, tenant=context.tenant, now=context.now)
    log.info("%s: %d SNDS data rows stored, %d already stored", context.source, counts.stored, counts.duplicates)


def store_snds_status_batch(conn: sa.Connection, records: Sequence[SndsIpStatusRecord], context: RecordContext) -> None:
    counts = store_snds_status(conn, records, tenant=context.tenant, snapshot_at=context.now)
    log.info("%s: %d SNDS IP status ranges stored", context.source, counts.stored)


def store_postmaster_batch(conn: sa.Connection, records: Sequence[PostmasterDayRecord], context: RecordContext) -> None:
    log_unknown_fields(records, context.source)
    counts = store_postmaster(conn, records, tenant=context.tenant, now=context.now)
    log.info("%s: %d Postmaster Tools days stored or updated, %d unchanged", context.source, counts.stored, counts.duplicates)


RECORD_HANDLERS = {
    SndsDataRecord: store_snds_data_batch,
    SndsIpStatusRecord: store_snds_status_batch,
    PostmasterDayRecord: store_postmaster_batch,
}
