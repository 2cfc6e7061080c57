"""DNS checks: stored check results and blocklist listing history.

Revision ID: 0002_dns_checks
Revises: 0001_initial
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_dns_checks"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dns_check_results",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("checked_at", TIME, nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("check_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dns_check_results"),
    )
    op.create_index(
        "ix_dns_check_results_tenant_kind_subject_check_name_checked_at",
        "dns_check_results",
        ["tenant", "kind", "subject", "check_name", "checked_at"],
    )

    op.create_table(
        "blocklist_listings",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("asset", sa.String(255), nullable=False),
        sa.Column("list_name", sa.String(255), nullable=False),
        sa.Column("first_detected_at", TIME, nullable=False),
        sa.Column("last_checked_at", TIME, nullable=False),
        sa.Column("delisted_at", TIME),
        sa.Column("confirmations", sa.Integer(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_blocklist_listings"),
        sa.UniqueConstraint("tenant", "asset", "list_name", "first_detected_at", name="uq_blocklist_listings_episode"),
    )
    op.create_index("ix_blocklist_listings_tenant_delisted_at", "blocklist_listings", ["tenant", "delisted_at"])


def downgrade() -> None:
    op.drop_index("ix_blocklist_listings_tenant_delisted_at", table_name="blocklist_listings")
    op.drop_table("blocklist_listings")
    op.drop_index("ix_dns_check_results_tenant_kind_subject_check_name_checked_at", table_name="dns_check_results")
    op.drop_table("dns_check_results")
