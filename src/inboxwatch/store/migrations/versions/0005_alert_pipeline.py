"""Alert pipeline tables: silences, notification_log, notification_decisions.

Revision ID: 0005_alert_pipeline
Revises: 0004_web
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_alert_pipeline"
down_revision = "0004_web"
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])
    op.create_table(
        "notification_log",
        sa.Column("group_key", sa.String(64), nullable=False),
        sa.Column("route", sa.String(255), nullable=False),
        sa.Column("group_labels", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("first_active_at", TIME),
        sa.Column("last_sent_at", TIME),
        sa.Column("last_reason", sa.String(64)),
        sa.Column("sent_firing", sa.JSON(), nullable=False),
        sa.Column("last_decision", sa.Text()),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("group_key", name="pk_notification_log"),
    )
    op.create_table(
        "notification_decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", Id, nullable=False),
        sa.Column("time", TIME, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("group_key", sa.String(64)),
        sa.Column("route", sa.String(255)),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_decisions"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_notification_decisions_alert_id_alerts"),
    )
    op.create_index("ix_notification_decisions_alert_id", "notification_decisions", ["alert_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_decisions_alert_id", table_name="notification_decisions")
    op.drop_table("notification_decisions")
    op.drop_table("notification_log")
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
