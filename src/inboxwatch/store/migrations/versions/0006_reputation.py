"""Reputation feed tables: snds_data, snds_ip_status, postmaster_stats, sender_scores, reputation_feeds.

Revision ID: 0006_reputation
Revises: 0005_alert_pipeline
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_reputation"
down_revision = "0005_alert_pipeline"
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "snds_data",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("activity_start", TIME, nullable=False),
        sa.Column("activity_end", TIME, nullable=False),
        sa.Column("rcpt_commands", sa.Integer(), nullable=False),
        sa.Column("data_commands", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("filter_result", sa.String(8), nullable=False),
        sa.Column("complaint_rate_text", sa.String(32), nullable=False),
        sa.Column("complaint_rate", sa.Float()),
        sa.Column("complaint_rate_below", sa.Float()),
        sa.Column("trap_start", TIME),
        sa.Column("trap_end", TIME),
        sa.Column("trap_hits", sa.Integer(), nullable=False),
        sa.Column("sample_helo", sa.String(255), nullable=False),
        sa.Column("sample_mail_from", sa.String(255), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("stored_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snds_data"),
        sa.UniqueConstraint("tenant", "ip", "activity_start", name="uq_snds_data_tenant_ip_activity_start"),
    )
    op.create_table(
        "snds_ip_status",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("snapshot_at", TIME, nullable=False),
        sa.Column("first_ip", sa.String(45), nullable=False),
        sa.Column("last_ip", sa.String(45), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snds_ip_status"),
        sa.UniqueConstraint(
            "tenant", "snapshot_at", "first_ip", "last_ip", name="uq_snds_ip_status_tenant_snapshot_at_first_ip_last_ip"
        ),
    )
    op.create_table(
        "postmaster_stats",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spam_rate", sa.Float()),
        sa.Column("spf_success_rate", sa.Float()),
        sa.Column("dkim_success_rate", sa.Float()),
        sa.Column("dmarc_success_rate", sa.Float()),
        sa.Column("tls_rate", sa.Float()),
        sa.Column("delivery_error_rate", sa.Float()),
        sa.Column("domain_reputation", sa.String(8)),
        sa.Column("ip_reputations", sa.JSON(), nullable=False),
        sa.Column("delivery_errors", sa.JSON(), nullable=False),
        sa.Column("unknown_fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_postmaster_stats"),
        sa.UniqueConstraint("tenant", "domain", "day", name="uq_postmaster_stats_tenant_domain_day"),
    )
    op.create_table(
        "sender_scores",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("checked_at", TIME, nullable=False),
        sa.Column("score", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_sender_scores"),
    )
    op.create_index("ix_sender_scores_tenant_ip_checked_at", "sender_scores", ["tenant", "ip", "checked_at"])
    op.create_table(
        "reputation_feeds",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("feed", sa.String(32), nullable=False),
        sa.Column("last_attempt_at", TIME, nullable=False),
        sa.Column("last_success_at", TIME),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reputation_feeds"),
        sa.UniqueConstraint("tenant", "feed", name="uq_reputation_feeds_tenant_feed"),
    )


def downgrade() -> None:
    op.drop_table("reputation_feeds")
    op.drop_index("ix_sender_scores_tenant_ip_checked_at", table_name="sender_scores")
    op.drop_table("sender_scores")
    op.drop_table("postmaster_stats")
    op.drop_table("snds_ip_status")
    op.drop_table("snds_data")
