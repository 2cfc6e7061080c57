"""Ingesting a file uploaded through the HTTP API."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

import sqlalchemy as sa

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext, ParserSpec
from inboxwatch.service.batches import InputSummary
from inboxwatch.service.ingest import IngestOptions, ingest_records
from inboxwatch.sources.files import open_for_parsing

log = logging.getLogger(__name__)


def ingest_upload(
    engine: sa.Engine,
    stream: BinaryIO,
    filename: str,
    *,
    kind: str | None,
    options: IngestOptions,
    clock: Callable[[], datetime],
) -> InputSummary:
    """Copy the upload to a temporary file, detect its format (unless `kind` names it) and ingest it.

    The file name takes part in detection, so the temporary file keeps the
    upload's suffix. Raises ParseError, worded for an API caller, when the
    format is unknown or the file unreadable; whatever a parser rejects on
    the way is quarantined.
    """
    suffix = "".join(os.path.basename(filename).partition(".")[1:])[-32:]
    source = "upload:%s" % os.path.basename(filename)
    with tempfile.TemporaryDirectory(prefix="inboxwatch-upload-") as folder:
        path = os.path.join(folder, "upload" + suffix)
        with open(path, "wb") as target:
            shutil.copyfileobj(stream, target)
        try:
            spec, parse_stream = open_for_parsing(path, kind)
        except ParseError as exc:
            raise upload_error(exc, path, os.path.basename(filename)) from None
        context = ParseContext(
            source=source, reference_time=clock(), tenant=options.tenant, local_addresses=options.local_addresses
        )
        with parse_stream:
            return ingest_records(
                engine, items_or_rejection(spec, parse_stream, context), source, kind=spec.kind, options=options, clock=clock
            )


def upload_error(error: ParseError, path: str, filename: str) -> ParseError:
    """Reword a ParseError from `open_for_parsing` for an upload: the upload's name for the temporary path, the `kind` field for `--kind`."""
    message = error.message.replace(path, filename).replace("pass --kind", "set the kind field")
    return ParseError(message, source=filename, line=error.line, offset=error.offset, field=error.field)


def items_or_rejection(spec: ParserSpec, stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield the parser's items; a whole-input error becomes one last `Rejected` item."""
    try:
        yield from spec.parse(stream, context)
    except ParseError as exc:
        yield Rejected(error=exc, raw="")
