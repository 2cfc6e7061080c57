"""DMARC aggregate and SMTP TLS reports: dmarc_reports, dmarc_records, tls_reports, tls_policies.

Revision ID: 0003_reports
Revises: 0002_dns_checks
Create Date: 2026-12-04

Written out in full rather than imported from `inboxwatch.store.schema`, so
that later changes to the schema module cannot change what this revision does.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_reports"
down_revision = "0002_dns_checks"
branch_labels = None
depends_on = None

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dmarc_reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("report_key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("org_name", sa.String(255)),
        sa.Column("email", sa.String(320)),
        sa.Column("report_id", sa.String(255), nullable=False),
        sa.Column("policy_domain", sa.String(255), nullable=False),
        sa.Column("begin_at", TIME, nullable=False),
        sa.Column("end_at", TIME, nullable=False),
        sa.Column("policy", sa.JSON()),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("warnings", sa.JSON()),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("ingest_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_dmarc_reports"),
        sa.UniqueConstraint("report_key", name="uq_dmarc_reports_report_key"),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name="fk_dmarc_reports_ingest_id_ingests"),
    )
    op.create_index("ix_dmarc_reports_policy_domain_end_at", "dmarc_reports", ["policy_domain", "end_at"])

    op.create_table(
        "dmarc_records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("dmarc_report_id", Id, nullable=False),
        sa.Column("source_ip", sa.String(45), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("disposition", sa.String(16)),
        sa.Column("dkim", sa.String(16)),
        sa.Column("spf", sa.String(16)),
        sa.Column("dmarc_pass", sa.Boolean(), nullable=False),
        sa.Column("header_from", sa.String(255)),
        sa.Column("envelope_from", sa.String(255)),
        sa.Column("envelope_to", sa.String(255)),
        sa.Column("reasons", sa.JSON()),
        sa.Column("dkim_results", sa.JSON()),
        sa.Column("spf_results", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name="pk_dmarc_records"),
        sa.ForeignKeyConstraint(
            ["dmarc_report_id"], ["dmarc_reports.id"], name="fk_dmarc_records_dmarc_report_id_dmarc_reports"
        ),
    )
    op.create_index("ix_dmarc_records_dmarc_report_id", "dmarc_records", ["dmarc_report_id"])

    op.create_table(
        "tls_reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("report_key", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("organization", sa.String(255)),
        sa.Column("report_id", sa.String(255), nullable=False),
        sa.Column("begin_at", TIME),
        sa.Column("end_at", TIME),
        sa.Column("contact_info", sa.String(320)),
        sa.Column("total_successful", sa.BigInteger(), nullable=False),
        sa.Column("total_failed", sa.BigInteger(), nullable=False),
        sa.Column("warnings", sa.JSON()),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("ingest_id", Id),
        sa.PrimaryKeyConstraint("id", name="pk_tls_reports"),
        sa.UniqueConstraint("report_key", name="uq_tls_reports_report_key"),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name="fk_tls_reports_ingest_id_ingests"),
    )
    op.create_index("ix_tls_reports_end_at", "tls_reports", ["end_at"])

    op.create_table(
        "tls_policies",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tls_report_id", Id, nullable=False),
        sa.Column("policy_domain", sa.String(255), nullable=False),
        sa.Column("policy_type", sa.String(32)),
        sa.Column("successful", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("mx_hosts", sa.JSON()),
        sa.Column("policy_strings", sa.JSON()),
        sa.Column("failure_details", sa.JSON()),
        sa.PrimaryKeyConstraint("id", name="pk_tls_policies"),
        sa.ForeignKeyConstraint(["tls_report_id"], ["tls_reports.id"], name="fk_tls_policies_tls_report_id_tls_reports"),
    )
    op.create_index("ix_tls_policies_tls_report_id", "tls_policies", ["tls_report_id"])
    op.create_index("ix_tls_policies_policy_domain", "tls_policies", ["policy_domain"])


def downgrade() -> None:
    for table in ("tls_policies", "tls_reports", "dmarc_records", "dmarc_reports"):
        op.drop_table(table)
