"""Helpers for the ESP parser tests: run one parser over a payload and split what it yields."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from inboxwatch.model.events import DeliveryEvent
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext, ParserSpec

FIXTURES = Path(__file__).parent / "fixtures" / "esp"


def as_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload).encode("utf-8")


def run_parser(spec: ParserSpec, payload: Any, tenant: str | None = None) -> tuple[list[DeliveryEvent], list[Rejected]]:
    """Parse `payload` (bytes, text, or a JSON-ready object) and return (events, rejected)."""
    context = ParseContext(source="test-payload", tenant=tenant)
    items = list(spec.parse(io.BytesIO(as_bytes(payload)), context))
    events = [item for item in items if isinstance(item, DeliveryEvent)]
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert len(events) + len(rejected) == len(items)
    return events, rejected


def only_event(spec: ParserSpec, payload: Any) -> DeliveryEvent:
    events, rejected = run_parser(spec, payload)
    assert rejected == []
    assert len(events) == 1, events
    return events[0]
