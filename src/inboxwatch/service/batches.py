"""Writing one input's parsed items to the store in batches of bounded size.

Each batch (its events, their rollups, its quarantined items and the other
records passed to handlers) is written in one transaction, so a crash loses
at most the batch in flight, and a re-run stores only what is missing.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.classify.enrich import EnrichOptions, enrich
from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent
from inboxwatch.model.records import Rejected
from inboxwatch.service.records import RecordContext, handler_for
from inboxwatch.store.events import ConcurrentInsertError, StoreCounts, store_events
from inboxwatch.store.quarantine import QuarantineItem, add_quarantine

log = logging.getLogger(__name__)

# Reasons kept per input for the summary; the counts are complete.
MAX_LISTED_REASONS = 5


@dataclasses.dataclass
class InputSummary:
    """Counts from ingesting one input.

    `error` is set when the input could not be read to its end because it
    was unreadable, empty, of unknown format or truncated. Whatever was
    stored before the error stays stored. `reasons` lists the first rejections as "location: reason".
    """

    source: str
    kind: str
    ingest_id: int | None = None
    events_stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    records_handled: int = 0
    records_unhandled: int = 0
    reasons: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None

    @property
    def was_read(self) -> bool:
        """Whether anything came out of the input: no whole-input error, or some items before it."""
        produced = self.events_stored + self.duplicates + self.rejected + self.records_handled + self.records_unhandled
        return self.error is None or produced > 0

    def note_reason(self, reason: str) -> None:
        if len(self.reasons) < MAX_LISTED_REASONS:
            self.reasons.append(reason)


def error_location(error: ParseError) -> str | None:
    """Return where in the input the error is (line, byte, field), without the source name."""
    parts = []
    if error.line is not None:
        parts.append("line %d" % error.line)
    if error.offset is not None:
        parts.append("byte %d" % error.offset)
    if error.field:
        parts.append("field %s" % error.field)
    return ", ".join(parts) or None


class BatchWriter:
    """Collects one input's items and writes them a batch at a time.

    `add` takes delivery events, `Rejected` items and other records;
    `flush` writes what is buffered. Call `flush` once more at the end.
    """

    def __init__(
        self,
        engine: sa.Engine,
        summary: InputSummary,
        *,
        batch_size: int,
        tenant: str,
        recipient_retention: str,
        clock: Callable[[], datetime],
        enrich_options: EnrichOptions | None = None,
    ) -> None:
        self.engine = engine
        self.summary = summary
        self.batch_size = batch_size
        self.tenant = tenant
        self.recipient_retention = recipient_retention
        self.clock = clock
        self.enrich_options = enrich_options or EnrichOptions(tenant=tenant)
        self.events: list[DeliveryEvent] = []
        self.rejected: list[QuarantineItem] = []
        self.input_errors: list[QuarantineItem] = []
        self.others: dict[type, list[Any]] = collections.defaultdict(list)
        self.buffered = 0
        self.unhandled_types: set[type] = set()

    def add(self, item: Any) -> None:
        if isinstance(item, DeliveryEvent):
            self.events.append(enrich(item, self.enrich_options))
        elif isinstance(item, Rejected):
            self.rejected.append(self.quarantine_item(item.error, item.raw))
            self.summary.note_reason(self.describe(item.error))
        else:
            self.others[type(item)].append(item)
        self.buffered += 1
        if self.buffered >= self.batch_size:
            self.flush()

    def add_input_error(self, error: ParseError, raw: str | None) -> None:
        """Quarantine a whole-input error and record it as the input's error."""
        self.summary.error = self.describe(error)
        self.input_errors.append(self.quarantine_item(error, raw))

    def describe(self, error: ParseError) -> str:
        location = error_location(error)
        return "%s: %s" % (location, error.message) if location else error.message

    def quarantine_item(self, error: ParseError, raw: str | None) -> QuarantineItem:
        return QuarantineItem(
            source=self.summary.source,
            kind=self.summary.kind,
            location=error_location(error),
            reason=error.message,
            raw=raw,
            ingest_id=self.summary.ingest_id,
        )

    def flush(self) -> None:
        """Write the buffered items in one transaction, repeated once if a concurrent writer got in the way."""
        if not self.buffered and not self.input_errors:
            return
        now = self.clock()
        try:
            counts, handled = self.write_batch(now, skip_conflicts=False)
        except ConcurrentInsertError as exc:
            # The failed transaction was rolled back, and nothing outside it
            # changed, because store_events runs before the record handlers.
            log.info("%s: storing the batch again, skipping events another writer stored: %s", self.summary.source, exc)
            counts, handled = self.write_batch(now, skip_conflicts=True)
        self.summary.events_stored += counts.stored
        self.summary.duplicates += counts.duplicates
        self.summary.rejected += counts.rejected + len(self.rejected)
        if counts.rejected:
            self.summary.note_reason("%d events without a time" % counts.rejected)
        self.summary.records_handled += handled
        self.events = []
        self.rejected = []
        self.input_errors = []
        self.others = collections.defaultdict(list)
        self.buffered = 0

    def write_batch(self, now: datetime, *, skip_conflicts: bool) -> tuple[StoreCounts, int]:
        """Write the buffered items in one transaction and return the event counts and the records handled."""
        with self.engine.begin() as conn:
            counts = store_events(
                conn,
                self.events,
                ingest_id=self.summary.ingest_id,
                tenant_default=self.tenant,
                recipient_retention=self.recipient_retention,
                now=now,
                skip_conflicts=skip_conflicts,
            )
            add_quarantine(conn, self.rejected + self.input_errors, now=now)
            handled = self.pass_to_handlers(conn, now)
        return counts, handled

    def pass_to_handlers(self, conn: sa.Connection, now: datetime) -> int:
        context = RecordContext(
            source=self.summary.source,
            kind=self.summary.kind,
            ingest_id=self.summary.ingest_id,
            tenant=self.tenant,
            now=now,
            recipient_retention=self.recipient_retention,
        )
        handled = 0
        for record_type, records in self.others.items():
            handler = handler_for(record_type)
            if handler is None:
                self.summary.records_unhandled += len(records)
                if record_type not in self.unhandled_types:
                    self.unhandled_types.add(record_type)
                    log.warning(
                        "%s: no handler stores %s records; they are counted but not stored",
                        self.summary.source,
                        record_type.__name__,
                    )
                continue
            result = handler(conn, records, context)
            if result is None:
                handled += len(records)
                continue
            self.summary.events_stored += result.events_stored
            self.summary.duplicates += result.duplicates
            handled += result.records_stored
        return handled
