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

from inboxwatch.classify.enrich import EnrichOptions
from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.model.records import Rejected
from inboxwatch.service.bounce_events import take_over_bounce_messages
from inboxwatch.service.record_kinds import count_batch_kinds
from inboxwatch.service.records import RecordContext, handler_for
from inboxwatch.store.events import ConcurrentInsertError, EventRows, StoreCounts, store_rows
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
    # Items produced, by kind ("bounce", "delivered event"; see `record_kinds`).
    record_kinds: collections.Counter = dataclasses.field(default_factory=collections.Counter)

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


class Batch:
    """One batch of an input's items, sorted for writing; building it needs no connection.

    Events become insert rows at once (`EventRows`), except bounces that
    may repeat a stored bounce-message event: those are held as events,
    because matching them takes the store (see `take_over_bounce_messages`).
    A batch pickles, so a parser process can build it for the writer.
    """

    def __init__(self, rows: EventRows) -> None:
        self.rows = rows
        self.held: list[DeliveryEvent] = []
        self.rejected: list[Rejected] = []
        self.others: list[Any] = []
        self.size = 0

    def add(self, item: Any) -> None:
        if isinstance(item, DeliveryEvent):
            if item.type is EventType.BOUNCED and item.message_id:
                self.held.append(item)
            else:
                self.rows.add(item)
        elif isinstance(item, Rejected):
            self.rejected.append(item)
        else:
            self.others.append(item)
        self.size += 1


class BatchWriter:
    """Collects one input's items and writes them a batch at a time.

    `add` takes delivery events, `Rejected` items and other records;
    `add_batch` takes a whole `Batch` built elsewhere (by `new_batch`'s
    settings); `flush` writes what is buffered. Call `flush` once more at the end.
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
        self.batch = self.new_batch()
        self.input_errors: list[QuarantineItem] = []
        self.unhandled_types: set[type] = set()

    def new_batch(self) -> Batch:
        """Return an empty batch with this writer's settings: events are labelled as `enrich` would."""
        rows = EventRows(
            ingest_id=self.summary.ingest_id,
            tenant_default=self.tenant,
            recipient_retention=self.recipient_retention,
            enrich_options=self.enrich_options,
        )
        return Batch(rows)

    @property
    def buffered(self) -> int:
        return self.batch.size

    def add(self, item: Any) -> None:
        self.batch.add(item)
        if isinstance(item, Rejected):
            self.summary.note_reason(self.describe(item.error))
        if self.batch.size >= self.batch_size:
            self.flush()

    def add_batch(self, batch: Batch) -> None:
        """Buffer a batch built from `new_batch`, and write when the buffer is full."""
        self.batch.rows.merge(*batch.rows.take())
        self.batch.held.extend(batch.held)
        self.batch.rejected.extend(batch.rejected)
        for item in batch.rejected:
            self.summary.note_reason(self.describe(item.error))
        self.batch.others.extend(batch.others)
        self.batch.size += batch.size
        if self.batch.size >= self.batch_size:
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
        if not self.batch.size and not self.input_errors:
            return
        now = self.clock()
        try:
            counts, handled = self.write_batch(now, skip_conflicts=False)
        except ConcurrentInsertError as exc:
            # The failed transaction was rolled back, and nothing outside it
            # changed, because store_rows runs before the record handlers.
            log.info("%s: storing the batch again, skipping events another writer stored: %s", self.summary.source, exc)
            counts, handled = self.write_batch(now, skip_conflicts=True)
        self.summary.events_stored += counts.stored
        self.summary.duplicates += counts.duplicates
        self.summary.rejected += counts.rejected + len(self.batch.rejected)
        if counts.rejected:
            self.summary.note_reason("%d events without a time" % counts.rejected)
        self.summary.records_handled += handled
        count_batch_kinds(self.summary.record_kinds, self.batch)
        self.batch = self.new_batch()
        self.input_errors = []

    def write_batch(self, now: datetime, *, skip_conflicts: bool) -> tuple[StoreCounts, int]:
        """Write the buffered items in one transaction and return the event counts and the records handled."""
        batch = self.batch
        with self.engine.begin() as conn:
            rows = batch.rows
            if batch.held:
                # A copy, so that a retry after ConcurrentInsertError starts
                # from the batch as it was.
                rows = self.new_batch().rows
                rows.merge(batch.rows.rows_by_key, batch.rows.undated, batch.rows.duplicates)
                for event in take_over_bounce_messages(conn, batch.held):
                    rows.add(event)
            counts = store_rows(conn, rows, now=now, skip_conflicts=skip_conflicts)
            quarantined = [self.quarantine_item(item.error, item.raw) for item in batch.rejected]
            add_quarantine(conn, quarantined + self.input_errors, now=now)
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
        by_type: dict[type, list[Any]] = collections.defaultdict(list)
        for record in self.batch.others:
            by_type[type(record)].append(record)
        for record_type, records in by_type.items():
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
