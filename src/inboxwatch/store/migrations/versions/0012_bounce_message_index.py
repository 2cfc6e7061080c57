"""Index bounced events made from bounce messages by Message-ID: ix_events_bounce_message_id.

Revision ID: 0012_bounce_message_index
Revises: 0011_rollups_quarter_hour
Create Date: 2026-12-04

A logged bounce looks up the bounce-message event that reports the same
delivery, so that the bounce is counted once. The index is partial: only
events with source 'bounce' and type 'bounced' are in it, so inserting log
and webhook events does not maintain it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_bounce_message_index"
down_revision = "0011_rollups_quarter_hour"
branch_labels = None
depends_on = None

BOUNCE_MESSAGE_EVENTS = "source = 'bounce' AND type = 'bounced'"


def upgrade() -> None:
    op.create_index(
        "ix_events_bounce_message_id",
        "events",
        ["message_id"],
        sqlite_where=sa.text(BOUNCE_MESSAGE_EVENTS),
        postgresql_where=sa.text(BOUNCE_MESSAGE_EVENTS),
    )


def downgrade() -> None:
    op.drop_index("ix_events_bounce_message_id", table_name="events")
