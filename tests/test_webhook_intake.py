"""`accept_webhook` on each backend: one transaction for the receipt, the ingest, the events and the link."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from inboxwatch.service import webhook_intake
from inboxwatch.service.ingest import IngestOptions
from inboxwatch.store.schema import events, ingests, rollups, webhook_receipts
from inboxwatch.store.webhook_receipts import ReplayError

from web_support import fixed_clock, mailgun_body, sendgrid_payload


def accept(engine, body: bytes, esp: str = "sendgrid", nonce: str | None = None):
    return webhook_intake.accept_webhook(engine, esp, body, nonce=nonce, options=IngestOptions(), clock=fixed_clock)


def count_rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_intake_links_receipt_to_ingest(engine):
    outcome = accept(engine, sendgrid_payload())
    assert outcome.summary.events_stored == 1
    assert outcome.malformed_reason is None
    with engine.connect() as conn:
        receipt = conn.execute(sa.select(webhook_receipts)).one()
        ingest = conn.execute(sa.select(ingests)).one()
        event = conn.execute(sa.select(events.c.ingest_id)).one()
    assert receipt.ingest_id == ingest.id
    assert event.ingest_id == ingest.id
    assert ingest.events_stored == 1
    assert ingest.finished_at is not None


def test_intake_retry_stores_nothing_twice(engine):
    body = sendgrid_payload()
    accept(engine, body)
    outcome = accept(engine, body)
    assert outcome.summary.duplicates == 1
    assert count_rows(engine, events) == 1


def test_intake_failure_rolls_back_everything(engine, monkeypatch):
    def failing_link(conn, receipt_id, ingest_id):
        raise sa.exc.OperationalError("UPDATE webhook_receipts", {}, Exception("disk I/O error"))

    monkeypatch.setattr(webhook_intake, "link_ingest", failing_link)
    with pytest.raises(sa.exc.OperationalError):
        accept(engine, sendgrid_payload())
    for table in (webhook_receipts, ingests, events, rollups):
        assert count_rows(engine, table) == 0, table.name


def test_intake_replayed_nonce_stores_nothing(engine):
    body = mailgun_body("key", token="e" * 50)
    accept(engine, body, esp="mailgun", nonce="e" * 50)
    with pytest.raises(ReplayError):
        accept(engine, body, esp="mailgun", nonce="e" * 50)
    assert count_rows(engine, webhook_receipts) == 1
    assert count_rows(engine, ingests) == 1
