"""The daily or weekly HTML report: rates per provider over time with alerts marked, reputation, authentication, blocklists and grades.

Everything shown is read from the store. A section whose data is absent
says so ("no reputation feed data stored") instead of showing zeros.
Charts are inline SVG, so the file can be mailed or opened offline.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import jinja2
import sqlalchemy as sa

from inboxwatch.analysis.grades import GradeReport, build_benchmarks, default_tables, grade_providers, missing_data_note
from inboxwatch.analysis.rules import PROVIDER_NAMES, percent
from inboxwatch.config.models import Config
from inboxwatch.model.alerts import Alert
from inboxwatch.service.complaint_sources import has_complaint_data
from inboxwatch.service.grade_inputs import postmaster_spam_rate
from inboxwatch.service.report_auth import auth_rows
from inboxwatch.service.report_charts import MIN_POINT_VOLUME, rate_charts
from inboxwatch.service.report_reputation import TIME_FORMAT, reputation_view
from inboxwatch.store.alert_periods import alerts_in_period
from inboxwatch.store.db import as_utc
from inboxwatch.store.bounce_reasons import bounce_reason_counts
from inboxwatch.store.dns_checks import latest_check_time, latest_listings
from inboxwatch.store.metrics import query_counts

# Alerts listed at most, newest first.
MAX_ALERTS = 500

TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>inboxwatch {{ period }} report</title>
<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.note{color:#666}.stale,.earlier{color:#777;font-style:italic}.failed{color:#a00}</style>
</head><body>
<h1>inboxwatch {{ period }} report</h1>
<p>{{ start }} to {{ end }} (UTC), tenant {{ tenant }}.{% if generated != end %} Alerts are included up to {{ generated }}.{% endif %}</p>
<h2>Rates per provider</h2>
{% if not charts %}<p class="note">No mail stored in this period.</p>{% endif %}
{% for title, svg in charts %}<h3>{{ title }}</h3>{{ svg|safe }}{% endfor %}
{% if charts and not complaint_data %}<h3>Complaint rate</h3><p class="note">No complaint data: no feedback loop or ESP source exists for this period, so no complaint rate is drawn.</p>{% endif %}
<p class="note">Dashed lines mark the alerts of each chart's rate that started in the period: red for critical, gold for warning, grey for info. Alerts too close to tell apart share one line, with their count above it. Hover a line for the summaries. Other alerts are in the table below. Steps with fewer than {{ min_volume }} messages are gaps.</p>
<h2>Alerts</h2>
{% if alerts %}<table><tr><th>started</th><th>state</th><th>severity</th><th>summary</th><th>during the period</th></tr>
{% for alert in alerts %}<tr{% if not alert.started_in_period %} class="earlier"{% endif %}><td>{{ alert.started }}</td><td>{{ alert.state }}</td><td>{{ alert.severity }}</td><td>{{ alert.summary }}</td><td>{{ alert.period_note }}</td></tr>{% endfor %}</table>
{% else %}<p class="note">No alert started or was firing in this period.</p>{% endif %}
<h2>Grades</h2>
{% if grades.providers %}<table><tr><th>provider</th><th>sent</th><th>delivery</th><th>bounce</th><th>complaint</th><th>overall</th></tr>
{% for row in grade_rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>
<p>Overall grade: {{ grades.overall or "-" }}{% if grade_note %} ({{ grade_note }}){% endif %}</p>
{% for text in grades.recommendations %}<p>{{ text }}</p>{% endfor %}
{% else %}<p class="note">No mail to grade.</p>{% endif %}
<h2>Reputation</h2>
{% if not reputation.has_data %}<p class="note">No reputation feed data stored. Configure [reputation] and run <code>inboxwatch reputation fetch</code>.</p>{% endif %}
{% for feed in reputation.feeds %}<p{% if feed.failed %} class="failed"{% endif %}>{{ feed.title }}: {{ feed.outcome }}</p>{% endfor %}
{% if reputation.snds %}<h3>Microsoft SNDS</h3><table><tr><th>IP</th><th>period</th><th>filter</th><th>complaints</th><th>trap hits</th><th>note</th></tr>
{% for row in reputation.snds %}<tr{% if row.stale %} class="stale"{% endif %}><td>{{ row.ip }}</td><td>{{ row.period }}</td><td>{{ row.filter_result }}</td><td>{{ row.complaint_rate_text }}</td><td>{{ row.trap_hits }}</td><td>{{ row.stale or "" }}</td></tr>{% endfor %}</table>{% endif %}
<h3>Microsoft SNDS IP status</h3>
{% if reputation.snds_status_at is none %}<p class="note">No SNDS IP status stored. It is fetched with the SNDS key (<code>inboxwatch reputation fetch</code>) or read from an ipStatus export given to <code>inboxwatch ingest</code>.</p>
{% else %}<p{% if reputation.snds_status_stale %} class="stale"{% endif %}>IP status as of {{ reputation.snds_status_at }}{% if reputation.snds_status_stale %} (stale){% endif %}: {% if reputation.snds_status %}{{ reputation.snds_status|length }} {{ "range" if reputation.snds_status|length == 1 else "ranges" }} listed.{% else %}no IP range is blocked.{% endif %}</p>
{% if reputation.snds_status %}<table><tr><th>first IP</th><th>last IP</th><th>blocked</th><th>reason</th></tr>
{% for row in reputation.snds_status %}<tr><td>{{ row.first_ip }}</td><td>{{ row.last_ip }}</td><td>{{ row.blocked_text }}</td><td>{{ row.reason }}</td></tr>{% endfor %}</table>{% endif %}{% endif %}
{% if reputation.postmaster %}<h3>Google Postmaster Tools</h3><table><tr><th>domain</th><th>day</th><th>spam rate</th><th>SPF</th><th>DKIM</th><th>DMARC</th><th>domain reputation</th><th>note</th></tr>
{% for row in reputation.postmaster %}<tr{% if row.stale %} class="stale"{% endif %}><td>{{ row.domain }}</td><td>{{ row.day }}</td>{% for value in row.cells %}<td>{{ value }}</td>{% endfor %}<td>{{ row.domain_reputation or "-" }}</td><td>{{ row.stale or "" }}</td></tr>{% endfor %}</table>{% endif %}
{% if reputation.scores %}<h3>Validity Sender Score</h3><table><tr><th>IP</th><th>score</th><th>checked</th><th>note</th></tr>
{% for row in reputation.scores %}<tr{% if row.stale %} class="stale"{% endif %}><td>{{ row.ip }}</td><td>{{ row.score if row.score is not none else "no score" }}</td><td>{{ row.checked }}</td><td>{{ row.stale or "" }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Authentication</h2>
{% if not auth %}<p class="note">No authentication check stored. Run <code>inboxwatch check auth</code>, or configure [checks] so that <code>inboxwatch run</code> checks the [sender] domains.</p>
{% else %}<table><tr><th>domain</th><th>check</th><th>status</th><th>checked</th><th>detail</th><th>note</th></tr>
{% for row in auth %}<tr{% if row.stale %} class="stale"{% endif %}><td>{{ row.domain }}</td><td>{{ row.check }}</td><td>{{ row.status }}</td><td>{{ row.checked }}</td><td>{{ row.detail }}</td><td>{{ row.stale or "" }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Blocklists</h2>
{% if listings is none %}<p class="note">No blocklist check stored. Run <code>inboxwatch check blocklists</code>, or configure [checks] so that <code>inboxwatch run</code> checks them.</p>
{% elif listings %}<table><tr><th>asset</th><th>list</th><th>since</th><th>meaning</th></tr>
{% for row in listings %}<tr><td>{{ row.asset }}</td><td>{{ row.list_name }}</td><td>{{ row.since }}</td><td>{{ row.meaning }}</td></tr>{% endfor %}</table>
{% else %}<p>No asset is listed.</p>{% endif %}
</body></html>
"""
)


@dataclasses.dataclass(frozen=True)
class ReportPeriod:
    name: str
    length: timedelta
    step: timedelta


PERIODS = {
    "daily": ReportPeriod("daily", timedelta(days=1), timedelta(hours=1)),
    "weekly": ReportPeriod("weekly", timedelta(days=7), timedelta(hours=6)),
}


def render_report(conn: sa.Connection, config: Config, period: ReportPeriod, end: datetime) -> str:
    """Render the report for the `period` ending at `end` as one HTML page.

    Charts and figures end at `end` rounded down to the minute, but alerts
    are included up to `end` itself, so a report made now lists an alert
    of the current minute.
    """
    generated = as_utc(end)
    end = generated.replace(second=0, microsecond=0)
    start = end - period.length
    tenant = config.tenant
    alerts = alerts_in_period(conn, tenant, start, generated + timedelta(microseconds=1), MAX_ALERTS)
    complaint_data = has_complaint_data(conn, config, end, tenant)
    charts = rate_charts(conn, tenant, start, end, period.step, alerts, complaint_data=complaint_data)
    grades = grade_window(conn, config, start, end, period, complaint_data=complaint_data)
    listings = latest_listings(conn, tenant)
    return TEMPLATE.render(
        period=period.name,
        start=start.strftime("%Y-%m-%d %H:%M"),
        end=end.strftime("%Y-%m-%d %H:%M"),
        generated=generated.strftime("%Y-%m-%d %H:%M:%S") if generated != end else end.strftime("%Y-%m-%d %H:%M"),
        tenant=tenant,
        charts=charts,
        min_volume=MIN_POINT_VOLUME,
        alerts=alert_rows(alerts, start, generated),
        complaint_data=complaint_data,
        grades=grades,
        grade_rows=grade_rows(grades),
        grade_note=missing_data_note(grades),
        reputation=reputation_view(conn, tenant, start, end),
        auth=auth_rows(conn, tenant, start, generated),
        listings=None if not listings and latest_check_time(conn, tenant, "blocklist") is None else listing_rows(listings.values()),
    )


def listing_rows(episodes) -> list[dict[str, Any]]:
    """Describe the open listing episodes, oldest first, with the time each was first detected."""
    rows = [{**episode, "since": as_utc(episode["first_detected_at"]).strftime(TIME_FORMAT)} for episode in episodes if episode["delisted_at"] is None]
    return sorted(rows, key=lambda row: row["first_detected_at"])


def grade_window(
    conn: sa.Connection, config: Config, start: datetime, end: datetime, period: ReportPeriod, *, complaint_data: bool = True
) -> GradeReport:
    benchmarks = build_benchmarks(
        default_tables(),
        {name: table.model_dump() for name, table in config.grades.metrics.items()},
        {provider.value: {name: table.model_dump() for name, table in tables.items()} for provider, tables in config.grades.providers.items()},
    )
    rows = query_counts(conn, start=start, end=end, group_by=("provider",), tenant=config.tenant)
    return grade_providers(
        rows,
        benchmarks,
        period.length.days,
        config.grades.min_volume,
        complaint_data=complaint_data,
        postmaster_spam=postmaster_spam_rate(conn, config.tenant, start, end),
        bounce_reasons=bounce_reason_counts(conn, start, end, config.tenant),
    )


def grade_rows(report: GradeReport) -> list[list[str]]:
    rows = []
    for provider in report.providers:
        cells = [PROVIDER_NAMES.get(provider.provider, provider.provider), str(provider.volume)]
        for item in provider.metrics:
            if item.source:
                value = percent(item.value) if item.value is not None else "-"
                cells.append("%s %s (%s)" % (item.grade or "not graded", value, item.source))
            elif not item.has_data:
                cells.append("no data")
            elif item.rate.value is None:
                cells.append("-")
            else:
                cells.append("%s %s (n=%d)" % (item.grade or "not graded", percent(item.rate.value), item.rate.denominator))
        cells.append(provider.overall or "-")
        rows.append(cells)
    return rows


def alert_rows(alerts: list[Alert], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Describe each alert for the table, saying how it overlaps the period: started in it, or firing from before it."""
    rows = []
    for alert in alerts:
        started = as_utc(alert.pending_since)
        resolved = as_utc(alert.resolved_at) if alert.resolved_at is not None else None
        if started >= start:
            note = "started in the period"
        elif resolved is not None and resolved < end:
            note = "started before the period, firing until %s" % resolved.strftime(TIME_FORMAT)
        else:
            note = "started before the period, still firing at its end"
        rows.append(
            {
                "started": started.strftime(TIME_FORMAT),
                "started_in_period": started >= start,
                "state": alert.state.value,
                "severity": alert.severity.value,
                "summary": alert.summary or alert.rule,
                "period_note": note,
            }
        )
    return rows
