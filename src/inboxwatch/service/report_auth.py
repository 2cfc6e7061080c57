"""The authentication section of the HTML report: each domain's latest stored SPF, DKIM and DMARC results.

The results are those of the scheduled authentication check of `inboxwatch
run` or of `inboxwatch check auth`, as stored by the end of the period. A
domain's result is stale when it was checked before the period started,
because a DNS lookup has no publishing delay, as for Sender Score.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from inboxwatch.service.report_reputation import TIME_FORMAT, stale_note
from inboxwatch.store.dns_checks import latest_results_by_subject

# The checks shown, with their titles, in the order shown.
AUTH_CHECKS = (("spf", "SPF"), ("dkim", "DKIM"), ("dmarc", "DMARC"))

# Problems shown per check at most; the rest are counted.
MAX_PROBLEMS_SHOWN = 3


def auth_rows(conn: sa.Connection, tenant: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Describe the latest result of each domain's SPF, DKIM and DMARC check stored by `end`, one row per domain and check."""
    rows = []
    for result in latest_results_by_subject(conn, tenant, "auth", end):
        report = (result["detail"] or {}).get("report") or {}
        checked = result["checked_at"]
        for name, title in AUTH_CHECKS:
            check = report.get(name)
            if not isinstance(check, dict):
                continue
            rows.append(
                {
                    "domain": result["subject"],
                    "check": title,
                    "status": check.get("status", "unknown"),
                    "detail": check_detail(check),
                    "checked": checked.strftime(TIME_FORMAT),
                    "stale": stale_note(checked, start),
                }
            )
    return rows


def check_detail(check: dict[str, Any]) -> str:
    """Return the reason and the first problems of one stored check, joined for a table cell."""
    notes = [str(check["reason"])] if check.get("reason") else []
    problems = [str(problem) for problem in check.get("problems") or []]
    notes.extend(problems[:MAX_PROBLEMS_SHOWN])
    if len(problems) > MAX_PROBLEMS_SHOWN:
        notes.append("%d more" % (len(problems) - MAX_PROBLEMS_SHOWN))
    return "; ".join(notes)
