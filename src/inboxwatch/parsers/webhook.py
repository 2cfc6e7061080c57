"""Helpers shared by the ESP event parsers: batches, ids, fields and detection.

An ESP posts one event or a batch of events per request, as JSON or (older
webhooks) as form fields, and `esp_body.read_body` reads such a body or a
JSON Lines event file. Each parser reads one event object at a time with a
reader function. `read_batch` turns a reader's `ParseError` into a `Rejected`
item, so one bad event costs only itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from email.utils import parseaddr
from typing import Any

from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext, reject

log = logging.getLogger(__name__)

# A form-encoded body starts with a field name and '='.
FORM_BODY = re.compile(rb"^[A-Za-z0-9_.%\-\[\]]+=")

# Key fragments of webhook signing test vectors (the secret or public key,
# the signature and the signed body kept beside captured payloads).
SIGNING_KEY_FRAGMENTS = ("signature", "secret", "public_key")

# Characters that only occur in an address with a display name, quoting or a comment.
ADDRESS_SYNTAX = frozenset('<>"(), ')

# Bytes of an item kept in a Rejected excerpt.
MAX_ITEM_EXCERPT = 1024

ItemReader = Callable[[dict[str, Any], ParseContext], Iterable[DeliveryEvent]]


def decode_json_field(value: Any, field: str) -> Any:
    """Decode JSON carried as a string inside a payload (SNS `Message`, Mandrill `mandrill_events`).

    A value that a relay already decoded (an object or an array) is returned as it is.
    """
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise ParseError("field %s is not a JSON string: got %s" % (field, type(value).__name__), field=field)
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ParseError("invalid JSON in field %s: %s (column %d)" % (field, exc.msg, exc.colno), field=field) from None


def is_signing_material(payload: Any) -> bool:
    """Return True when an object's keys name signing material (a signature, a secret or a public key).

    Parsers ask only about objects that lack their event type field, so a
    True result marks a signing test vector kept beside captured payloads.
    """
    if not isinstance(payload, dict):
        return False
    return any(fragment in key.lower() for key in payload for fragment in SIGNING_KEY_FRAGMENTS)


def read_batch(payload: Any, context: ParseContext, read_item: ItemReader) -> Iterator[DeliveryEvent | Rejected]:
    """Read a single event object or a JSON array of them with `read_item`.

    A `ParseError` from one item becomes a `Rejected` naming the item's
    position (`[3].eventType`) and the batch goes on.
    """
    if isinstance(payload, list):
        items = [("[%d]" % index, item) for index, item in enumerate(payload)]
    else:
        items = [("", payload)]
    for position, item in items:
        if not isinstance(item, dict):
            message = "event is not a JSON object: got %s" % type(item).__name__
            yield reject(message, excerpt(item), source=context.source, field=position or None)
            continue
        try:
            events = list(read_item(item, context))
        except ParseError as exc:
            field = ".".join(part for part in (position, exc.field) if part) or None
            yield reject(exc.message, excerpt(item), source=context.source, field=field)
            continue
        yield from events


def excerpt(item: Any) -> str:
    return json.dumps(item, default=str, ensure_ascii=False)[:MAX_ITEM_EXCERPT]


def unknown_type(esp: str, field: str, value: Any, known: Iterable[str]) -> ParseError:
    """Build the error for an event type the parser does not know, listing the ones it does."""
    return ParseError(
        "unknown %s event type %r; known types: %s" % (esp, value, ", ".join(sorted(known))),
        field=field,
    )


def missing_field(esp: str, field: str) -> ParseError:
    return ParseError("%s event is missing the %s field" % (esp, field), field=field)


def stable_event_id(item: Any, *parts: Any) -> str:
    """Derive an event id from the event's JSON for ESPs that send none.

    The same item with the same parts (recipient, position) gives the same id,
    so ingesting a payload twice stores its events once.
    """
    canonical = json.dumps([item, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def email_address(value: Any) -> str | None:
    """Return the bare address from `addr` or `Name <addr>`, or None when there is none."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # Most ESP fields contain a bare address, and parseaddr is slow, so it
    # runs only where a display name, quoting or a comment may be present.
    if not any(character in text for character in ADDRESS_SYNTAX):
        return text
    _, address = parseaddr(text)
    return address.strip() or text


def text_value(value: Any) -> str | None:
    """Return a non-empty string value stripped, other scalars as text, and None otherwise."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].lower() or None


def form_field_names(head: bytes) -> set[str]:
    """Return the field names of a form-encoded body's head, or an empty set when it is not one."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not FORM_BODY.match(start):
        return set()
    text = start.decode("utf-8", errors="replace")
    return {urllib.parse.unquote_plus(pair.split("=", 1)[0]) for pair in text.split("&") if "=" in pair}


def has_key(text: str, key: str) -> bool:
    """Return True when `text` (the head of a JSON document) has `key` as an object key."""
    return re.search(r'"%s"\s*:' % re.escape(key), text) is not None
