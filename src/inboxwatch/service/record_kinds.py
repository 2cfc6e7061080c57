"""Names for the kinds of items an input produced, for the per-input summary of `inboxwatch ingest`.

A parser's kind (`bounce`, `mbox`) names how an input was read, not what it
contains: one mailbox contains bounces, feedback reports and DMARC reports. The
names here are those `inboxwatch parse --json` prints in each record's
`kind` field, and "<type> event" for delivery events.
"""

from __future__ import annotations

import collections
import operator
from typing import Any

from inboxwatch.model.reports import AggregateReport, FailureReport, TlsReport
from inboxwatch.model.reputation import PostmasterDayRecord, SndsDataRecord, SndsIpStatusRecord
from inboxwatch.store.events import EVENT_COLUMNS

# Record types without a `kind` attribute, named like their parsers.
KIND_NAMES: dict[type, str] = {
    AggregateReport: "dmarc-aggregate",
    FailureReport: "dmarc-failure",
    TlsReport: "tlsrpt",
    PostmasterDayRecord: "postmaster",
    SndsDataRecord: "snds-data",
    SndsIpStatusRecord: "snds-ipstatus",
}

# The event type value in an insert row of `store.events.EventRows`.
_row_type = operator.itemgetter(EVENT_COLUMNS.index("type"))


def record_kind(record_type: type) -> str:
    """Return the kind name of a record type: its `kind` attribute, its parser's kind, or the class name."""
    kind = getattr(record_type, "kind", None)
    if isinstance(kind, str):
        return kind
    return KIND_NAMES.get(record_type, record_type.__name__)


def count_batch_kinds(counts: collections.Counter, batch: Any) -> None:
    """Add the kinds of one `batches.Batch`'s items to `counts`: delivery events by type, other records by kind.

    Rejected items are left out, because the summary counts them already,
    and so are events repeated within the batch, whose rows were not kept.
    """
    rows = batch.rows
    event_types = collections.Counter(map(_row_type, rows.rows_by_key.values()))
    event_types.update(event.type.value for event in rows.undated)
    event_types.update(event.type.value for event in batch.held)
    for event_type, count in event_types.items():
        counts["%s event" % event_type] += count
    for record_type, count in collections.Counter(map(type, batch.others)).items():
        counts[record_kind(record_type)] += count
