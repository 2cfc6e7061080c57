"""Drop the events indexes that no query reads: (tenant, provider, time) and message_id.

Revision ID: 0007_event_write_indexes
Revises: 0006_reputation
Create Date: 2026-12-04

Metrics read the rollups, and the only queries on raw events filter or sort
by `time` (retention, the latest event), so these two indexes only slowed
every insert. Downgrading creates them again.
"""

from __future__ import annotations

from alembic import op

revision = "0007_event_write_indexes"
down_revision = "0006_reputation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_tenant_provider_time", table_name="events")
    op.drop_index("ix_events_message_id", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_tenant_provider_time", "events", ["tenant", "provider", "time"])
    op.create_index("ix_events_message_id", "events", ["message_id"])
