"""DMARC failure reports: dmarc_failure_reports.

Revision ID: 0008_dmarc_failures
Revises: 0007_event_write_indexes
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_dmarc_failures"
down_revision = "0007_event_write_indexes"
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dmarc_failure_reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("report_key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("reported_domain", sa.String(255), nullable=False),
        sa.Column("source_ip", sa.String(45), nullable=False),
        sa.Column("arrival_date", sa.String(255)),
        sa.Column("arrived_at", TIME, nullable=False),
        sa.Column("original_message_id", sa.Text()),
        sa.Column("original_mail_from", sa.Text()),
        sa.Column("original_from", sa.Text()),
        sa.Column("original_subject", sa.Text()),
        sa.Column("auth_failure", sa.String(64)),
        sa.Column("delivery_result", sa.String(64)),
        sa.Column("report", sa.JSON()),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("ingest_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_dmarc_failure_reports"),
        sa.UniqueConstraint("report_key", name="uq_dmarc_failure_reports_report_key"),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name="fk_dmarc_failure_reports_ingest_id_ingests"),
    )
    op.create_index(
        "ix_dmarc_failure_reports_reported_domain_arrived_at", "dmarc_failure_reports", ["reported_domain", "arrived_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_dmarc_failure_reports_reported_domain_arrived_at", table_name="dmarc_failure_reports")
    op.drop_table("dmarc_failure_reports")
