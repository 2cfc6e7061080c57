"""Table definitions. Alembic migrations in `store/migrations` must match them.

Dimension columns that take part in unique keys hold '' rather than NULL,
because NULLs never collide in a unique index on SQLite or PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# Stable constraint names, so migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite needs INTEGER for an auto-incrementing primary key.
Id = BigInteger().with_variant(Integer(), "sqlite")

ingests = Table(
    "ingests",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("events_stored", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
)

# The events that `ix_events_bounce_message_id` covers.
BOUNCE_MESSAGE_EVENTS = "source = 'bounce' AND type = 'bounced'"

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # sha256 hex of (source kind, parser event id): the idempotency key.
    Column("event_key", String(64), nullable=False, unique=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("type", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("recipient", String(320)),
    Column("recipient_domain", String(255)),
    Column("sender", String(320)),
    Column("sending_ip", String(45), nullable=False, default=""),
    Column("sending_domain", String(255), nullable=False, default=""),
    Column("campaign", String(255), nullable=False, default=""),
    Column("message_id", String(998)),
    Column("queue_id", String(64)),
    Column("relay_host", String(255)),
    Column("smtp_code", Integer),
    Column("enhanced_status", String(16)),
    Column("diagnostic", Text),
    Column("bounce_reason", String(32)),
    Column("hard", Boolean),
    Column("ingest_id", Id, ForeignKey("ingests.id")),
    Column("extra", JSON),
    # Only `time` is indexed, for retention and the latest event: metrics
    # read the rollups, and each further index slows every insert.
    Index(None, "time"),
    # Bounced events made from bounce messages, by Message-ID, so that a
    # logged bounce finds the one it repeats. Partial, so inserting any
    # other event leaves it untouched.
    Index(
        "ix_events_bounce_message_id",
        "message_id",
        sqlite_where=text(BOUNCE_MESSAGE_EVENTS),
        postgresql_where=text(BOUNCE_MESSAGE_EVENTS),
    ),
)

def rollup_table(name: str) -> Table:
    """Define a rollup table: counters per bucket and the dimensions the metrics group by.

    The three rollup tables differ only in their bucket width, so they share
    this definition and can never drift apart.
    """
    return Table(
        name,
        metadata,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("bucket", DateTime(timezone=True), nullable=False),
        Column("tenant", String(64), nullable=False),
        Column("provider", String(32), nullable=False),
        Column("sending_ip", String(45), nullable=False),
        Column("sending_domain", String(255), nullable=False),
        Column("campaign", String(255), nullable=False),
        Column("sent", Integer, nullable=False, default=0),
        Column("delivered", Integer, nullable=False, default=0),
        Column("deferred", Integer, nullable=False, default=0),
        Column("bounced", Integer, nullable=False, default=0),
        Column("hard_bounced", Integer, nullable=False, default=0),
        Column("complained", Integer, nullable=False, default=0),
        Column("opened", Integer, nullable=False, default=0),
        Column("clicked", Integer, nullable=False, default=0),
        Column("unsubscribed", Integer, nullable=False, default=0),
        Column("dropped", Integer, nullable=False, default=0),
        # Named explicitly: the conventional name is longer than PostgreSQL's 63-character limit.
        UniqueConstraint(
            "bucket", "tenant", "provider", "sending_ip", "sending_domain", "campaign",
            name="uq_%s_bucket_dimensions" % name,
        ),
        Index(None, "tenant", "bucket"),
    )


# Per-minute counts by every dimension the metrics group by.
rollups = rollup_table("rollups")

# Per-hour sums of `rollups`, with the same dimensions and counters, written
# in the same transaction as the minutes. Queries over many hours read these:
# a month is 720 rows per group instead of 43,200.
rollups_hourly = rollup_table("rollups_hourly")

# Per-15-minute sums of `rollups` (buckets on :00, :15, :30 and :45 UTC),
# written in the same transaction as the minutes. Series stepping by
# multiples of 15 minutes read these: a day is 96 rows per group instead of 1,440.
rollups_quarter_hour = rollup_table("rollups_quarter_hour")

# Inputs that could not be read, kept with the reason for inspection.
quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("location", String(255)),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("ingest_id", Id, ForeignKey("ingests.id")),
    Index(None, "received_at"),
)

# How far each followed log file has been read, to resume after a restart.
file_positions = Table(
    "file_positions",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("device", BigInteger, nullable=False),
    Column("inode", BigInteger, nullable=False),
    Column("offset", BigInteger, nullable=False),
    # sha256 of the first bytes, to notice a file replaced under the same inode.
    Column("head_digest", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per incident: at most one unresolved alert per fingerprint.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("annotations", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", JSON),
    Column("pending_since", DateTime(timezone=True), nullable=False),
    Column("fired_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("acknowledged_by", String(255)),
    Column("ack_note", Text),
    Column("last_evaluated_at", DateTime(timezone=True), nullable=False),
    Column("last_notified_at", DateTime(timezone=True)),
    Index(None, "fingerprint", "state"),
    Index(None, "state"),
)

alert_history = Table(
    "alert_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", Id, ForeignKey("alerts.id"), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(255)),
    Column("note", Text),
    Index(None, "alert_id"),
)

# Notifications waiting to be sent, written in the alert change's transaction.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", Id, ForeignKey("alerts.id")),
    Column("channel", String(128), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    # Set while a sender works on the row; a lease older than the send
    # timeout is taken over, so a crash mid-send is retried.
    Column("leased_until", DateTime(timezone=True)),
    Index(None, "status", "next_attempt_at"),
)

notification_attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("outbox_id", Id, ForeignKey("outbox.id"), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("retryable", Boolean),
    Column("error", Text),
    Index(None, "outbox_id"),
)

# Named timestamps the service keeps, such as the last evaluated minute.
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("time", DateTime(timezone=True), nullable=False),
)

# Job leases (see `store.leases`): one row per scheduled job, naming the
# process that may run it until `expires_at`.
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Every DNS check result: `kind` is "blocklist" (subject an IP or domain,
# `check_name` the list) or "auth" (subject a domain, `check_name` "domain").
dns_check_results = Table(
    "dns_check_results",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("check_name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("detail", JSON, nullable=False),
    Index(None, "tenant", "kind", "subject", "check_name", "checked_at"),
)

# One row per listing episode of an asset on a blocklist; an open episode has no delisted_at.
blocklist_listings = Table(
    "blocklist_listings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("asset", String(255), nullable=False),
    Column("list_name", String(255), nullable=False),
    Column("first_detected_at", DateTime(timezone=True), nullable=False),
    Column("last_checked_at", DateTime(timezone=True), nullable=False),
    Column("delisted_at", DateTime(timezone=True)),
    Column("confirmations", Integer, nullable=False),
    Column("codes", JSON, nullable=False),
    Column("meaning", Text, nullable=False),
    UniqueConstraint("tenant", "asset", "list_name", "first_detected_at", name="uq_blocklist_listings_episode"),
    Index(None, "tenant", "delisted_at"),
)

# DMARC aggregate reports, one row per report. `report_key` is the sha256 hex
# of the reporter (org_name and email) and the reporter's `report_id`, so a
# report received twice is stored once.
dmarc_reports = Table(
    "dmarc_reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("report_key", String(64), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("org_name", String(255)),
    Column("email", String(320)),
    Column("report_id", String(255), nullable=False),
    Column("policy_domain", String(255), nullable=False),
    Column("begin_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("policy", JSON),
    Column("messages", BigInteger, nullable=False),
    Column("warnings", JSON),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ingest_id", Id, ForeignKey("ingests.id")),
    Index(None, "policy_domain", "end_at"),
)

# The <record> rows of each stored aggregate report.
dmarc_records = Table(
    "dmarc_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dmarc_report_id", Id, ForeignKey("dmarc_reports.id"), nullable=False),
    Column("source_ip", String(45), nullable=False),
    Column("messages", BigInteger, nullable=False),
    Column("disposition", String(16)),
    Column("dkim", String(16)),
    Column("spf", String(16)),
    Column("dmarc_pass", Boolean, nullable=False),
    Column("header_from", String(255)),
    Column("envelope_from", String(255)),
    Column("envelope_to", String(255)),
    Column("reasons", JSON),
    Column("dkim_results", JSON),
    Column("spf_results", JSON),
    Index(None, "dmarc_report_id"),
)

# DMARC failure reports (RFC 6591), one row per report. They carry no report
# id, so `report_key` is the sha256 hex of the fields that identify the
# failing message (see `store.reports.failure_report_key`). `arrived_at` is
# the parsed Arrival-Date, or `received_at` when the report has none.
dmarc_failure_reports = Table(
    "dmarc_failure_reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("report_key", String(64), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("reported_domain", String(255), nullable=False),
    Column("source_ip", String(45), nullable=False),
    Column("arrival_date", String(255)),
    Column("arrived_at", DateTime(timezone=True), nullable=False),
    Column("original_message_id", Text),
    Column("original_mail_from", Text),
    Column("original_from", Text),
    Column("original_subject", Text),
    Column("auth_failure", String(64)),
    Column("delivery_result", String(64)),
    Column("report", JSON),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ingest_id", Id, ForeignKey("ingests.id")),
    Index(None, "reported_domain", "arrived_at"),
)

# SMTP TLS reports (RFC 8460), deduplicated like DMARC reports by the
# organization and its report-id.
tls_reports = Table(
    "tls_reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("report_key", String(64), nullable=False, unique=True),
    Column("tenant", String(64), nullable=False),
    Column("organization", String(255)),
    Column("report_id", String(255), nullable=False),
    Column("begin_at", DateTime(timezone=True)),
    Column("end_at", DateTime(timezone=True)),
    Column("contact_info", String(320)),
    Column("total_successful", BigInteger, nullable=False),
    Column("total_failed", BigInteger, nullable=False),
    Column("warnings", JSON),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("ingest_id", Id, ForeignKey("ingests.id")),
    Index(None, "end_at"),
)

# The policies of each stored TLS report; `policy_domain` is '' when the
# reporter left it out.
tls_policies = Table(
    "tls_policies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tls_report_id", Id, ForeignKey("tls_reports.id"), nullable=False),
    Column("policy_domain", String(255), nullable=False),
    Column("policy_type", String(32)),
    Column("successful", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("mx_hosts", JSON),
    Column("policy_strings", JSON),
    Column("failure_details", JSON),
    Index(None, "tls_report_id"),
    Index(None, "policy_domain"),
)

# API tokens for the HTTP API. Only the sha256 hex of a token is stored; the
# token itself is shown once, when it is created.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# Every change made through the HTTP API: who (token name), what, when and on what.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255)),
    Column("detail", JSON),
    Index(None, "time"),
)

# Verified webhook payloads, stored before the request is acknowledged.
# `nonce` is the one-time value of schemes that have one (Mailgun's token);
# it is unique per ESP so that a replayed request is rejected, and NULL
# elsewhere (NULLs never collide in the unique index).
webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("esp", String(32), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("nonce", String(255)),
    Column("body_sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("ingest_id", Id, ForeignKey("ingests.id")),
    UniqueConstraint("esp", "nonce", name="uq_webhook_receipts_esp_nonce"),
    Index(None, "received_at"),
)

# Silences: alerts matching every matcher (Alertmanager syntax, such as
# `sending_ip="192.0.2.10"`) are muted from starts_at until before ends_at.
# Expiring a silence sets ends_at to the time of expiry.
silences = Table(
    "silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("matchers", JSON, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index(None, "ends_at"),
)

# The notification log: per notification group (a route and its group_by
# label values), what was last sent and when, so a restart neither sends
# twice nor loses a resolve. `sent_firing` maps fingerprints to severities.
notification_log = Table(
    "notification_log",
    metadata,
    Column("group_key", String(64), primary_key=True),
    Column("route", String(255), nullable=False),
    Column("group_labels", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("first_active_at", DateTime(timezone=True)),
    Column("last_sent_at", DateTime(timezone=True)),
    Column("last_reason", String(64)),
    Column("sent_firing", JSON, nullable=False),
    Column("last_decision", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every recorded notify or suppress decision, one row per alert concerned.
notification_decisions = Table(
    "notification_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_id", Id, ForeignKey("alerts.id"), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("group_key", String(64)),
    Column("route", String(255)),
    Column("channels", JSON, nullable=False),
    Index(None, "alert_id"),
)

# Microsoft SNDS data rows: one IP's activity over one period.
snds_data = Table(
    "snds_data",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("activity_start", DateTime(timezone=True), nullable=False),
    Column("activity_end", DateTime(timezone=True), nullable=False),
    Column("rcpt_commands", Integer, nullable=False),
    Column("data_commands", Integer, nullable=False),
    Column("recipients", Integer, nullable=False),
    Column("filter_result", String(8), nullable=False),
    Column("complaint_rate_text", String(32), nullable=False),
    Column("complaint_rate", Float),
    Column("complaint_rate_below", Float),
    Column("trap_start", DateTime(timezone=True)),
    Column("trap_end", DateTime(timezone=True)),
    Column("trap_hits", Integer, nullable=False),
    Column("sample_helo", String(255), nullable=False),
    Column("sample_mail_from", String(255), nullable=False),
    Column("comments", Text, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "ip", "activity_start"),
)

# Microsoft SNDS IP status: the blocked ranges in each snapshot (fetch or ingested file).
snds_ip_status = Table(
    "snds_ip_status",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("snapshot_at", DateTime(timezone=True), nullable=False),
    Column("first_ip", String(45), nullable=False),
    Column("last_ip", String(45), nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("tenant", "snapshot_at", "first_ip", "last_ip"),
)

# Google Postmaster Tools statistics per domain and day; v1 and v2 fill the same row.
postmaster_stats = Table(
    "postmaster_stats",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("domain", String(255), nullable=False),
    Column("day", Date, nullable=False),
    Column("spam_rate", Float),
    Column("spf_success_rate", Float),
    Column("dkim_success_rate", Float),
    Column("dmarc_success_rate", Float),
    Column("tls_rate", Float),
    Column("delivery_error_rate", Float),
    Column("domain_reputation", String(8)),
    Column("ip_reputations", JSON, nullable=False),
    Column("delivery_errors", JSON, nullable=False),
    Column("unknown_fields", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant", "domain", "day"),
)

# Validity Sender Score lookups; `score` is NULL when the zone had no score for the IP.
sender_scores = Table(
    "sender_scores",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("ip", String(45), nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("score", Integer),
    Index(None, "tenant", "ip", "checked_at"),
)

# The state of each reputation feed: last attempt, last success, the error if the last attempt failed.
reputation_feeds = Table(
    "reputation_feeds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("feed", String(32), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_success_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("tenant", "feed"),
)
