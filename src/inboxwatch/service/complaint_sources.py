"""Whether complaint data exists for a period, so a complaint rate of 0 is not shown when nothing could report a complaint.

Complaints reach inboxwatch only from feedback loop reports (ARF, event
source "complaint") and from ESP events. An MTA log such as Postfix's
never contains one. A period has complaint data when any of these holds:
- a `[webhooks.<esp>]` receiver is configured;
- a configured source reads feedback: a maildir or IMAP mailbox whose
  `kind` is unset, "bounce" or "complaint" (those parsers read ARF
  reports), or any source whose `kind` is "complaint" or an ESP;
- an event from a feedback loop report or an ESP was stored with a time
  before the period's end.
A complained event in the period is such an event, so it always counts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from inboxwatch.config.models import Config
from inboxwatch.config.webhooks import WEBHOOK_ESPS
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import events

# Event sources (parser kinds) that report complaints.
COMPLAINT_EVENT_SOURCES = ("complaint", *WEBHOOK_ESPS)

# Mailbox parser kinds that read feedback loop reports; None is automatic detection.
FEEDBACK_MAILBOX_KINDS = (None, "bounce", "complaint")


def configured_complaint_sources(config: Config) -> list[str]:
    """Name each configured webhook and source that can deliver complaints."""
    names = ["webhooks.%s" % esp for esp in config.webhooks]
    sources = config.sources
    for source in (*sources.maildirs, *sources.imap):
        if source.kind in FEEDBACK_MAILBOX_KINDS or source.kind in COMPLAINT_EVENT_SOURCES:
            names.append(getattr(source, "path", None) or "imap:%s" % source.host)
    for source in (*sources.logs, *sources.folders):
        if source.kind in COMPLAINT_EVENT_SOURCES:
            names.append(source.path)
    return names


def complaint_events_stored(conn: sa.Connection, end: datetime, tenant: str | None = None) -> bool:
    """Return whether an event from a feedback loop report or an ESP is stored with a time before `end`."""
    query = sa.select(events.c.id).where(events.c.source.in_(COMPLAINT_EVENT_SOURCES), events.c.time < as_utc(end))
    if tenant is not None:
        query = query.where(events.c.tenant == tenant)
    return conn.execute(query.limit(1)).first() is not None


def has_complaint_data(conn: sa.Connection, config: Config, end: datetime, tenant: str | None = None) -> bool:
    """Return whether the period ending at `end` has a complaint source, by the rule in this module's docstring."""
    return bool(configured_complaint_sources(config)) or complaint_events_stored(conn, end, tenant)
