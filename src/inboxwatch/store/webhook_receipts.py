"""Webhook receipts: verified payloads kept before the request is acknowledged.

A receipt keeps the raw body, so a payload that a later parser version reads
better can be ingested again, and a one-time nonce (Mailgun's token), whose
unique index makes a replayed request fail to insert.

TODO: the retention purge does not delete receipts yet, so the table grows
with every accepted request.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.errors import InboxwatchError
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import webhook_receipts


class ReplayError(InboxwatchError):
    """A webhook nonce was seen before."""


# Built once, so that each request only binds its values (a statement built
# with `.values(...)` is coerced again on every call).
INSERT_RECEIPT = webhook_receipts.insert().returning(webhook_receipts.c.id)
FIND_NONCE = sa.select(webhook_receipts.c.id).where(
    webhook_receipts.c.esp == sa.bindparam("esp"), webhook_receipts.c.nonce == sa.bindparam("nonce")
)
LINK_INGEST = (
    webhook_receipts.update()
    .where(webhook_receipts.c.id == sa.bindparam("receipt_id"))
    .values(ingest_id=sa.bindparam("linked_ingest_id"))
)


def add_receipt(conn: sa.Connection, *, esp: str, body: bytes, nonce: str | None, now: datetime) -> int:
    """Insert a receipt and return its id; raises ReplayError when `nonce` is already stored for `esp`."""
    values = {
        "esp": esp,
        "received_at": as_utc(now),
        "nonce": nonce,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        # PostgreSQL text cannot contain NUL, and webhook bodies are JSON or form text.
        "body": body.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
    }
    if nonce is not None:
        seen = conn.execute(FIND_NONCE, {"esp": esp, "nonce": nonce}).first()
        if seen is not None:
            raise ReplayError("%s webhook token was already used (receipt %d): request rejected as a replay" % (esp, seen.id))
    try:
        return conn.execute(INSERT_RECEIPT, values).scalar_one()
    except sa.exc.IntegrityError as exc:
        # A concurrent request with the same nonce committed first.
        raise ReplayError("%s webhook token was already used: request rejected as a replay" % esp) from exc


def link_ingest(conn: sa.Connection, receipt_id: int, ingest_id: int | None) -> None:
    """Record which ingest stored the receipt's events."""
    conn.execute(LINK_INGEST, {"receipt_id": receipt_id, "linked_ingest_id": ingest_id})
