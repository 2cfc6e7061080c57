"""Gmail's Postmaster Tools spam rate over a grading window, for `inboxwatch grades` and the HTML report."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.analysis.grades import PostmasterSpamRate
from inboxwatch.store.reputation import postmaster_spam_rates


def postmaster_spam_rate(conn: sa.Connection, tenant: str | None, start: datetime, end: datetime) -> PostmasterSpamRate | None:
    """Average the Postmaster spam rates of the days that ended within [start, end], or return None when none is stored.

    A day counts when it ended by `end`, as in the reputation alerts, and
    started at or after `start`'s day. Postmaster gives no volume per day,
    so the mean is unweighted across days and domains.
    """
    first_day = start.date()
    last_day = end.date() - timedelta(days=1)
    if last_day < first_day:
        return None
    rates = postmaster_spam_rates(conn, tenant, first_day, last_day)
    if not rates:
        return None
    return PostmasterSpamRate(sum(rates) / len(rates), len(rates))
