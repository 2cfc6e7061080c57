"""Ingesting mailboxes: maildir folders, mbox files and IMAP messages.

A mailbox is one input (one `ingests` row), and each message in it is
detected and parsed on its own, because one mailbox mixes DMARC reports,
TLS reports, bounces and complaints. A message that no parser can read is
quarantined with its key and counted as failed, and the other messages go on.

`on_commit` lets a source file messages away (move them, flag them)
strictly after the transaction holding what they produced has committed.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import logging
import threading
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import SNIFF_BYTES, ParseContext
from inboxwatch.service.batches import BatchWriter
from inboxwatch.service.ingest import (
    IngestInterrupted,
    IngestOptions,
    IngestSummary,
    InputSummary,
    ProgressCallback,
    finish_input,
    ingest_paths,
    new_writer,
    not_started,
    start_input,
    utc_now,
)
from inboxwatch.sources.files import choose_parser, expand_paths
from inboxwatch.sources.mailboxes import MailMessage, is_maildir, is_mbox, maildir_messages, mbox_messages

log = logging.getLogger(__name__)

# Messages parsed between commits. Sources file messages away after each
# commit, so this bounds how many are read again after a crash.
DEFAULT_COMMIT_EVERY = 100

# Bytes of a failed message kept in quarantine.
FAILED_EXCERPT_BYTES = 2048

# Called after each commit with the keys of the messages that were stored
# (processed) and of those no parser could read (failed).
CommitCallback = Callable[[list[str], list[str]], None]


@dataclasses.dataclass
class MessageCounts:
    """Messages read from one mailbox input, and those no parser could read."""

    read: int = 0
    failed: int = 0


def ingest_inputs(
    engine: sa.Engine,
    paths: Iterable[str],
    *,
    kind: str | None = None,
    options: IngestOptions = IngestOptions(),
    progress: ProgressCallback | None = None,
    clock: Callable[[], datetime] = utc_now,
    stop: threading.Event | None = None,
) -> IngestSummary:
    """Ingest files, folders, maildirs (a folder with cur/, new/ and tmp/) and mbox files (starting with "From ").

    An mbox file inside a folder is read as an mbox too. Mailboxes are only
    read, never changed. Everything else goes to `ingest_paths`.
    """
    summary = IngestSummary()
    paths = list(paths)
    for index, path in enumerate(paths):
        if is_maildir(path):
            summary.inputs.append(ingest_messages(engine, path, "maildir", maildir_messages(path), kind=kind, options=options, clock=clock))
            continue
        files = expand_paths([path])
        for file_path in files:
            if is_mbox(file_path):
                messages = mbox_messages(file_path)
                summary.inputs.append(ingest_messages(engine, file_path, "mbox", messages, kind=kind, options=options, clock=clock))
            else:
                try:
                    single = ingest_paths(
                        engine, [file_path], kind=kind, options=options, progress=progress, clock=clock, stop=stop
                    )
                except IngestInterrupted as interrupted:
                    summary.inputs.extend(interrupted.summary.inputs)
                    summary.inputs.extend(not_started([*files, *paths[index + 1 :]]))
                    raise IngestInterrupted(summary) from None
                summary.inputs.extend(single.inputs)
    return summary


def ingest_messages(
    engine: sa.Engine,
    source: str,
    mailbox_kind: str,
    messages: Iterable[MailMessage],
    *,
    kind: str | None = None,
    options: IngestOptions = IngestOptions(),
    clock: Callable[[], datetime] = utc_now,
    on_commit: CommitCallback | None = None,
    commit_every: int = DEFAULT_COMMIT_EVERY,
) -> InputSummary:
    """Parse and store each message of one mailbox as part of one input named `source`.

    `kind` forces one format for every message; without it each message's
    format is detected. `mailbox_kind` ("maildir", "mbox", "imap") is
    recorded as the input's kind.
    """
    summary = start_input(engine, source, mailbox_kind, clock)
    writer = new_writer(engine, summary, options, clock)
    counts = MessageCounts()
    processed: list[str] = []
    failed: list[str] = []
    for message in messages:
        counts.read += 1
        if ingest_message(writer, source, message, kind, options, clock):
            processed.append(message.key)
        else:
            failed.append(message.key)
            counts.failed += 1
        if len(processed) + len(failed) >= commit_every:
            writer.flush()
            _report_commit(on_commit, processed, failed)
            processed, failed = [], []
    summary = finish_input(engine, writer, clock)
    _report_commit(on_commit, processed, failed)
    log.info("%s (%s): %d messages read, %d could not be parsed", source, mailbox_kind, counts.read, counts.failed)
    return summary


def ingest_message(
    writer: BatchWriter,
    source: str,
    message: MailMessage,
    kind: str | None,
    options: IngestOptions,
    clock: Callable[[], datetime],
) -> bool:
    """Parse one message into `writer`; return False when nothing could be read from it.

    A message that fails part-way keeps what it produced and counts as
    processed, because reading it again would produce the same.
    """
    name = "%s#%s" % (source, message.key)
    produced = 0
    try:
        spec = choose_parser(message.data[:SNIFF_BYTES], name, kind)
        context = ParseContext(
            source=name,
            reference_time=options.reference_time or clock(),
            tenant=options.tenant,
            local_addresses=options.local_addresses,
        )
        for item in spec.parse(io.BytesIO(message.data), context):
            writer.add(item)
            produced += 1
    except ParseError as exc:
        error = exc.message
    except (OSError, EOFError, gzip.BadGzipFile, zipfile.BadZipFile, UnicodeError) as exc:
        error = "read failed: %s" % exc
    except Exception as exc:
        # A parser bug must cost only this message: a mailbox worker that
        # died on it would meet the same message again after every restart.
        log.exception("%s: parsing failed unexpectedly; the message is set aside as failed", name)
        error = "internal error while parsing: %s: %s" % (type(exc).__name__, exc)
    else:
        return True
    writer.add(Rejected(error=ParseError("message %s: %s" % (message.key, error), source=name), raw=_excerpt(message.data)))
    return produced > 0


def _excerpt(data: bytes) -> str:
    return data[:FAILED_EXCERPT_BYTES].decode("utf-8", errors="replace")


def _report_commit(on_commit: CommitCallback | None, processed: Sequence[str], failed: Sequence[str]) -> None:
    if on_commit is not None and (processed or failed):
        on_commit(list(processed), list(failed))
