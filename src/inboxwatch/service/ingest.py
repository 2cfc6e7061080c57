"""Ingest: reading inputs, parsing them and storing what they contain.

Inputs are streamed: items go to the store in batches of `batch_size`, so
memory stays flat however long a log is (as long as the parser itself
streams, which the line-based log parsers do). Every input gets an
`ingests` row with its counts. Unreadable inputs and rejected items are
quarantined with their reason, and never stop the other inputs.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, BinaryIO

import sqlalchemy as sa

from inboxwatch.classify.enrich import EnrichOptions
from inboxwatch.errors import ParseError
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.service.batches import BatchWriter, InputSummary
from inboxwatch.service.parse_process import ChildParse, can_parse_in_child
from inboxwatch.service.records import register_record_handler, unregister_record_handler
from inboxwatch.sources.files import GZIP_MAGIC, STDIN, expand_paths, open_for_parsing, reference_time_for
from inboxwatch.store.db import as_utc
from inboxwatch.store.events import RECIPIENT_RETENTION
from inboxwatch.store.schema import ingests

if TYPE_CHECKING:
    from inboxwatch.config.models import Config

__all__ = [
    "IngestInterrupted",
    "IngestOptions",
    "IngestSummary",
    "InputSummary",
    "ingest_paths",
    "ingest_records",
    "register_record_handler",
    "unregister_record_handler",
]

log = logging.getLogger(__name__)

# Events per transaction: large enough that per-transaction costs vanish,
# small enough to keep memory flat and lock hold times short.
DEFAULT_BATCH_SIZE = 5000

# Bytes of an unreadable input kept in quarantine as its excerpt.
RAW_EXCERPT_BYTES = 4096

# Called as progress(source, bytes_read, total_bytes) after each batch;
# total_bytes is None when unknown (standard input, gzip).
ProgressCallback = Callable[[str, int, int | None], None]


@dataclasses.dataclass(frozen=True)
class IngestOptions:
    """Settings for one ingest run; the configuration file supplies them in the CLI."""

    tenant: str = "default"
    recipient_retention: str = "full"
    batch_size: int = DEFAULT_BATCH_SIZE
    local_addresses: frozenset[str] = frozenset()
    # MTA instance name -> the IP address it sends from (see classify.enrich).
    instance_ips: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Anchors yearless log timestamps; default: each file's modification time.
    reference_time: datetime | None = None

    @classmethod
    def from_config(cls, config: Config, tenant: str | None = None) -> "IngestOptions":
        """Return the options a configuration sets, for `tenant` (default: the configured one)."""
        return cls(
            tenant=tenant or config.tenant,
            recipient_retention=config.store.recipient_retention,
            local_addresses=frozenset(config.sender.local_addresses),
            instance_ips=dict(config.sender.instance_ips),
        )

    def __post_init__(self) -> None:
        if self.recipient_retention not in RECIPIENT_RETENTION:
            raise ValueError(
                "invalid recipient_retention %r: expected one of %s"
                % (self.recipient_retention, ", ".join(RECIPIENT_RETENTION))
            )
        if self.batch_size < 1:
            raise ValueError("invalid batch_size %r: expected at least 1" % self.batch_size)


@dataclasses.dataclass
class IngestSummary:
    """Counts from one ingest run, per input and in total."""

    inputs: list[InputSummary] = dataclasses.field(default_factory=list)

    @property
    def inputs_read(self) -> int:
        return sum(1 for summary in self.inputs if summary.was_read)

    @property
    def events_stored(self) -> int:
        return sum(summary.events_stored for summary in self.inputs)

    @property
    def duplicates(self) -> int:
        return sum(summary.duplicates for summary in self.inputs)

    @property
    def rejected(self) -> int:
        return sum(summary.rejected for summary in self.inputs)


# The error recorded for an input whose ingest was interrupted (Ctrl-C, SIGINT).
INTERRUPTED = "interrupted before the end: run the ingest again to store the rest"
# The error listed for an input the interrupted ingest had not reached.
NOT_STARTED = "not started: the ingest was interrupted before this input"


class StopRequested(Exception):
    """Raised inside `ingest_path` when its `stop` event is set."""


class IngestInterrupted(KeyboardInterrupt):
    """An ingest stopped by Ctrl-C or SIGINT; `summary` counts what was stored before it."""

    def __init__(self, summary: IngestSummary) -> None:
        super().__init__(INTERRUPTED)
        self.summary = summary


def not_started(paths: Iterable[str]) -> list[InputSummary]:
    """Return the summaries of inputs that an interrupted ingest did not reach, so every input given is listed."""
    return [InputSummary(source=path, kind="unknown", error=NOT_STARTED) for path in paths]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CountingReader(io.RawIOBase):
    """A read-only stream that counts the bytes passed through it, for progress."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


def ingest_paths(
    engine: sa.Engine,
    paths: Iterable[str],
    *,
    kind: str | None = None,
    options: IngestOptions = IngestOptions(),
    progress: ProgressCallback | None = None,
    clock: Callable[[], datetime] = utc_now,
    stop: threading.Event | None = None,
) -> IngestSummary:
    """Ingest files, folders (every file under them) and `-` (standard input); gzip is read transparently.

    `kind` names the format; without it, each input's format is detected.
    Setting `stop` (from a SIGINT handler, say) ends the ingest between two
    items: what was read is stored, and IngestInterrupted is raised.
    """
    summary = IngestSummary()
    unread_paths = expand_paths(paths)
    for path in unread_paths:
        try:
            summary.inputs.append(
                ingest_path(engine, path, kind=kind, options=options, progress=progress, clock=clock, stop=stop)
            )
        except IngestInterrupted as interrupted:
            summary.inputs.extend(interrupted.summary.inputs)
            summary.inputs.extend(not_started(unread_paths))
            raise IngestInterrupted(summary) from None
    return summary


def ingest_path(
    engine: sa.Engine,
    path: str,
    *,
    kind: str | None,
    options: IngestOptions,
    progress: ProgressCallback | None,
    clock: Callable[[], datetime],
    stop: threading.Event | None = None,
) -> InputSummary:
    try:
        spec, stream = open_for_parsing(path, kind)
    except ParseError as exc:
        summary = start_input(engine, path, kind or "unknown", clock)
        writer = new_writer(engine, summary, options, clock)
        writer.add_input_error(exc, raw_excerpt(path))
        return finish_input(engine, writer, clock)

    summary = start_input(engine, path, spec.kind, clock)
    writer = new_writer(engine, summary, options, clock)
    total = input_size(path)
    context = ParseContext(
        source=path,
        reference_time=options.reference_time or reference_time_for(path),
        tenant=options.tenant,
        local_addresses=options.local_addresses,
    )
    try:
        if can_parse_in_child(spec, total):
            read_in_child(spec, stream, context, writer, progress, total, stop)
        else:
            read_here(spec, stream, context, writer, progress, total, stop)
    except ParseError as exc:
        writer.add_input_error(exc, raw_excerpt(path))
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeError) as exc:
        writer.add_input_error(ParseError("read failed: %s" % exc, source=path), raw_excerpt(path))
    except StopRequested:
        # Store what was read, so the counts on the input's `ingests` row
        # are true; a second run stores the rest and nothing twice.
        writer.summary.error = INTERRUPTED
        log.warning("%s: ingest interrupted; storing what was read so far", path)
        raise IngestInterrupted(IngestSummary([finish_input(engine, writer, clock)])) from None
    finally:
        stream.close()
    return finish_input(engine, writer, clock)


def read_here(
    spec: ParserSpec,
    stream: BinaryIO,
    context: ParseContext,
    writer: BatchWriter,
    progress: ProgressCallback | None,
    total: int | None,
    stop: threading.Event | None,
) -> None:
    """Parse the input in this process into `writer`."""
    counter = CountingReader(stream)
    with io.BufferedReader(counter) as reader:
        for item in spec.parse(reader, context):
            writer.add(item)
            if stop is not None and stop.is_set():
                raise StopRequested()
            if progress is not None and writer.buffered == 0:
                progress(context.source, counter.count, total)
    if progress is not None:
        progress(context.source, counter.count, total)


def read_in_child(
    spec: ParserSpec,
    stream: BinaryIO,
    context: ParseContext,
    writer: BatchWriter,
    progress: ProgressCallback | None,
    total: int | None,
    stop: threading.Event | None,
) -> None:
    """Parse the input in a child process and write its batches into `writer` here."""
    batches = ChildParse(spec, stream, context, writer.new_batch, writer.batch_size, CountingReader)
    for batch in batches:
        writer.add_batch(batch)
        if stop is not None and stop.is_set():
            batches.close()
            raise StopRequested()
        if progress is not None:
            progress(context.source, batches.bytes_read, total)


def ingest_records(
    engine: sa.Engine,
    records: Iterable[Any],
    source_name: str,
    *,
    kind: str = "records",
    options: IngestOptions = IngestOptions(),
    clock: Callable[[], datetime] = utc_now,
) -> InputSummary:
    """Store records that were parsed elsewhere (webhook payloads): events, `Rejected` items and other records."""
    summary = start_input(engine, source_name, kind, clock)
    writer = new_writer(engine, summary, options, clock)
    for record in records:
        writer.add(record)
    return finish_input(engine, writer, clock)


def new_writer(engine: sa.Engine, summary: InputSummary, options: IngestOptions, clock) -> BatchWriter:
    return BatchWriter(
        engine,
        summary,
        batch_size=options.batch_size,
        tenant=options.tenant,
        recipient_retention=options.recipient_retention,
        clock=clock,
        enrich_options=EnrichOptions(tenant=options.tenant, instance_ips=options.instance_ips),
    )


def start_input(engine: sa.Engine, source: str, kind: str, clock: Callable[[], datetime]) -> InputSummary:
    """Insert the input's `ingests` row, which its events and quarantine rows refer to."""
    values = {"source": source, "kind": kind[:32], "started_at": as_utc(clock()), "events_stored": 0, "duplicates": 0, "rejected": 0}
    with engine.begin() as conn:
        ingest_id = conn.execute(ingests.insert().values(values).returning(ingests.c.id)).scalar_one()
    return InputSummary(source=source, kind=kind, ingest_id=ingest_id)


def finish_input(engine: sa.Engine, writer: BatchWriter, clock: Callable[[], datetime]) -> InputSummary:
    """Write what is still buffered and record the input's counts on its `ingests` row."""
    writer.flush()
    summary = writer.summary
    with engine.begin() as conn:
        conn.execute(
            ingests.update()
            .where(ingests.c.id == summary.ingest_id)
            .values(
                finished_at=as_utc(clock()),
                events_stored=summary.events_stored,
                duplicates=summary.duplicates,
                rejected=summary.rejected,
            )
        )
    log.info(
        "ingested %s (%s): %d events stored, %d duplicates, %d rejected%s",
        summary.source,
        summary.kind,
        summary.events_stored,
        summary.duplicates,
        summary.rejected,
        "; error: %s" % summary.error if summary.error else "",
    )
    return summary


def input_size(path: str) -> int | None:
    """Return the size of an uncompressed file, or None for standard input and gzip files.

    Progress counts decompressed bytes, which a gzip file's size does not bound.
    """
    if path == STDIN:
        return None
    try:
        with open(path, "rb") as stream:
            if stream.read(len(GZIP_MAGIC)) == GZIP_MAGIC:
                return None
        return os.stat(path).st_size
    except OSError:
        return None


def raw_excerpt(path: str) -> str | None:
    """Return the start of a file as text for quarantine, or None for standard input and unreadable files."""
    if path == STDIN:
        return None
    try:
        with open(path, "rb") as stream:
            head = stream.read(RAW_EXCERPT_BYTES)
    except OSError:
        return None
    return head.decode("utf-8", errors="replace")
