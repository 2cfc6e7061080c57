"""Handlers for parsed records other than delivery events.

Parsers also yield bounce reports, complaint reports and DMARC or TLS
aggregate reports. The module that stores such a record type registers a
handler for it. Ingest then calls the handler with each batch's records of
that type, in the batch's transaction. Types without a handler are counted and logged,
never dropped silently.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RecordContext:
    """The origin of a batch of records, for handlers that store them."""

    source: str
    kind: str
    ingest_id: int | None
    tenant: str
    now: datetime
    # What is kept of recipient addresses: "full", "domain" or "none" (see `store.events.store_events`).
    recipient_retention: str = "full"


@dataclasses.dataclass(frozen=True)
class HandlerResult:
    """What a handler stored: delivery events made from the records, and the records themselves.

    `duplicates` counts events or records that were already stored. A
    handler that returns None is taken to have stored every record it got.
    """

    events_stored: int = 0
    records_stored: int = 0
    duplicates: int = 0


# Stores a batch of records of one type in the caller's transaction. An
# exception it raises rolls the whole batch back and stops the input.
RecordHandler = Callable[[sa.Connection, Sequence[Any], RecordContext], "HandlerResult | None"]

# Modules that define `RECORD_HANDLERS`, a mapping of record type to handler,
# loaded on first use.
HANDLER_MODULES: tuple[str, ...] = (
    "inboxwatch.service.reports",
    "inboxwatch.service.reputation_records",
    "inboxwatch.service.bounce_events",
)

_handlers: dict[type, RecordHandler] = {}


def register_record_handler(record_type: type, handler: RecordHandler) -> None:
    """Make `handler` store records of `record_type` (and its subclasses) during ingest."""
    _handlers[record_type] = handler


def unregister_record_handler(record_type: type) -> None:
    _handlers.pop(record_type, None)


@cache
def load_handler_modules() -> None:
    for name in HANDLER_MODULES:
        module = importlib.import_module(name)
        for record_type, handler in module.RECORD_HANDLERS.items():
            _handlers.setdefault(record_type, handler)


def handler_for(record_type: type) -> RecordHandler | None:
    """Return the handler registered for `record_type` or its nearest base class, or None."""
    load_handler_modules()
    for base in record_type.__mro__:
        handler = _handlers.get(base)
        if handler is not None:
            return handler
    return None
