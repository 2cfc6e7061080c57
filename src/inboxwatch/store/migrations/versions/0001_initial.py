"""Initial schema: ingests, events, rollups, quarantine, followed files, alerts and the outbox.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingests",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
        sa.Column("events_stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ingests"),
    )

    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320)),
        sa.Column("recipient_domain", sa.String(255)),
        sa.Column("sender", sa.String(320)),
        sa.Column("sending_ip", sa.String(45), nullable=False),
        sa.Column("sending_domain", sa.String(255), nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(998)),
        sa.Column("queue_id", sa.String(64)),
        sa.Column("relay_host", sa.String(255)),
        sa.Column("smtp_code", sa.Integer()),
        sa.Column("enhanced_status", sa.String(16)),
        sa.Column("diagnostic", sa.Text()),
        sa.Column("bounce_reason", sa.String(32)),
        sa.Column("hard", sa.Boolean()),
        sa.Column("ingest_id", Id),
        sa.Column("extra", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("event_key", name="uq_events_event_key"),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name="fk_events_ingest_id_ingests"),
    )
    op.create_index("ix_events_time", "events", ["time"])
    op.create_index("ix_events_tenant_provider_time", "events", ["tenant", "provider", "time"])
    op.create_index("ix_events_message_id", "events", ["message_id"])

    op.create_table(
        "rollups",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("bucket", TIME, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sending_ip", sa.String(45), nullable=False),
        sa.Column("sending_domain", sa.String(255), nullable=False),
        sa.Column("campaign", sa.String(255), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("deferred", sa.Integer(), nullable=False),
        sa.Column("bounced", sa.Integer(), nullable=False),
        sa.Column("hard_bounced", sa.Integer(), nullable=False),
        sa.Column("complained", sa.Integer(), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("clicked", sa.Integer(), nullable=False),
        sa.Column("unsubscribed", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollups"),
        sa.UniqueConstraint(
            "bucket",
            "tenant",
            "provider",
            "sending_ip",
            "sending_domain",
            "campaign",
            name="uq_rollups_bucket_dimensions",
        ),
    )
    op.create_index("ix_rollups_tenant_bucket", "rollups", ["tenant", "bucket"])

    op.create_table(
        "quarantine",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("location", sa.String(255)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text()),
        sa.Column("ingest_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name="fk_quarantine_ingest_id_ingests"),
    )
    op.create_index("ix_quarantine_received_at", "quarantine", ["received_at"])

    op.create_table(
        "file_positions",
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.Column("inode", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("head_digest", sa.String(64), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_file_positions"),
    )

    op.create_table(
        "alerts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.JSON()),
        sa.Column("pending_since", TIME, nullable=False),
        sa.Column("fired_at", TIME),
        sa.Column("resolved_at", TIME),
        sa.Column("acknowledged_at", TIME),
        sa.Column("acknowledged_by", sa.String(255)),
        sa.Column("ack_note", sa.Text()),
        sa.Column("last_evaluated_at", TIME, nullable=False),
        sa.Column("last_notified_at", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_fingerprint_state", "alerts", ["fingerprint", "state"])
    op.create_index("ix_alerts_state", "alerts", ["state"])

    op.create_table(
        "alert_history",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", Id, nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255)),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_alert_history"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_history_alert_id_alerts"),
    )
    op.create_index("ix_alert_history_alert_id", "alert_history", ["alert_id"])

    op.create_table(
        "outbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", Id),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("next_attempt_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", TIME),
        sa.Column("leased_until", TIME),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_outbox_alert_id_alerts"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])

    op.create_table(
        "notification_attempts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", Id, nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("retryable", sa.Boolean()),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_notification_attempts"),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name="fk_notification_attempts_outbox_id_outbox"),
    )
    op.create_index("ix_notification_attempts_outbox_id", "notification_attempts", ["outbox_id"])

    op.create_table(
        "cursors",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cursors"),
    )


def downgrade() -> None:
    for table in (
        "cursors",
        "notification_attempts",
        "outbox",
        "alert_history",
        "alerts",
        "file_positions",
        "quarantine",
        "rollups",
        "events",
        "ingests",
    ):
        op.drop_table(table)
