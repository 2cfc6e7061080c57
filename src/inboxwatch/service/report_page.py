"""The daily or weekly HTML report: rates per provider over time with alerts marked, reputation, blocklists and grades.

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
from inboxwatch.analysis.rates import rates_for
from inboxwatch.analysis.rules import PROVIDER_NAMES, percent
from inboxwatch.config.models import Config
from inboxwatch.model.alerts import Alert
from inboxwatch.service.complaint_sources import has_complaint_data
from inboxwatch.service.report_reputation import TIME_FORMAT, reputation_view
from inboxwatch.service.svg_chart import Series, line_chart
from inboxwatch.store.alert_periods import alerts_in_period
from inboxwatch.store.db import as_utc
from inboxwatch.store.dns_checks import latest_listings
from inboxwatch.store.metrics import query_counts, query_series

# Rates drawn in the report, and the smallest denominator a step needs to be drawn at all.
CHARTED_RATES = ("bounce_rate", "deferral_rate", "complaint_rate")
MIN_POINT_VOLUME = 20

# Alerts listed at most, newest first.
MAX_ALERTS = 500

TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>inboxwatch {{ period }} report</title>
<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.note{color:#666}.stale,.earlier{color:#777;font-style:italic}</style>
</head><body>
<h1>inboxwatch {{ period }} report</h1>
<p>{{ start }} to {{ end }} (UTC), tenant {{ tenant }}.</p>
<h2>Rates per provider</h2>
{% if not charts %}<p class="note">No mail stored in this period.</p>{% endif %}
{% for title, svg in charts %}<h3>{{ title }}</h3>{{ svg|safe }}{% endfor %}
{% if charts and not complaint_data %}<h3>Complaint rate</h3><p class="note">No complaint data: no feedback loop or ESP source exists for this period, so no complaint rate is drawn.</p>{% endif %}
<p class="note">Dashed lines mark alerts that started in the period; hover for the summary. Steps with fewer than {{ min_volume }} messages are gaps.</p>
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
{% for feed in reputation.feeds %}<p>{{ feed.title }}: {{ feed.status }}, last attempt {{ feed.last_attempt_at }}{% if feed.error %}: {{ feed.error }}{% endif %}</p>{% endfor %}
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
<h2>Blocklists</h2>
{% if listings is none %}<p class="note">No blocklist check stored. Run <code>inboxwatch check blocklists</code>.</p>
{% elif listings %}<table><tr><th>asset</th><th>list</th><th>since</th><th>meaning</th></tr>
{% for row in listings %}<tr><td>{{ row.asset }}</td><td>{{ row.list_name }}</td><td>{{ row.first_detected_at }}</td><td>{{ row.meaning }}</td></tr>{% endfor %}</table>
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
    """Render the report for the `period` ending at `end` as one HTML page."""
    end = as_utc(end).replace(second=0, microsecond=0)
    start = end - period.length
    tenant = config.tenant
    alerts = alerts_in_period(conn, tenant, start, end, MAX_ALERTS)
    markers = [(as_utc(alert.pending_since), alert.summary or alert.rule) for alert in alerts if as_utc(alert.pending_since) >= start]
    complaint_data = has_complaint_data(conn, config, end, tenant)
    charts = rate_charts(conn, tenant, start, end, period.step, markers, complaint_data=complaint_data)
    grades = grade_window(conn, config, start, end, period, complaint_data=complaint_data)
    listings = latest_listings(conn, tenant)
    return TEMPLATE.render(
        period=period.name,
        start=start.strftime("%Y-%m-%d %H:%M"),
        end=end.strftime("%Y-%m-%d %H:%M"),
        tenant=tenant,
        charts=charts,
        min_volume=MIN_POINT_VOLUME,
        alerts=alert_rows(alerts, start, end),
        complaint_data=complaint_data,
        grades=grades,
        grade_rows=grade_rows(grades),
        grade_note=missing_data_note(grades),
        reputation=reputation_view(conn, tenant, start, end),
        listings=None if not listings else [row for row in listings.values() if row["delisted_at"] is None],
    )


def rate_charts(
    conn: sa.Connection, tenant: str, start: datetime, end: datetime, step: timedelta, markers, *, complaint_data: bool = True
) -> list[tuple[str, str]]:
    """Draw one chart per rate in CHARTED_RATES; without complaint data the complaint rate is not drawn, because it would be a flat 0."""
    rows = query_series(conn, start=start, end=end, step=step, group_by=("provider",), tenant=tenant)
    by_provider: dict[str, list[tuple[datetime, Any]]] = {}
    for step_start, row in rows:
        by_provider.setdefault(row.key[0], []).append((step_start, rates_for(row)))
    if not any(rate.denominator for points in by_provider.values() for _, rates in points for rate in rates.values()):
        return []
    charts = []
    complaint_data = complaint_data or any(rates["complaint_rate"].numerator for points in by_provider.values() for _, rates in points)
    for metric in CHARTED_RATES:
        if metric == "complaint_rate" and not complaint_data:
            continue
        series = []
        for provider, points in sorted(by_provider.items()):
            values = [(time, rates[metric].value if rates[metric].denominator >= MIN_POINT_VOLUME else None) for time, rates in points]
            series.append(Series(PROVIDER_NAMES.get(provider, provider), values))
        charts.append((metric.replace("_", " ").capitalize(), line_chart(series, start=start, end=end, markers=markers)))
    return charts


def grade_window(
    conn: sa.Connection, config: Config, start: datetime, end: datetime, period: ReportPeriod, *, complaint_data: bool = True
) -> GradeReport:
    benchmarks = build_benchmarks(
        default_tables(),
        {name: table.model_dump() for name, table in config.grades.metrics.items()},
        {provider.value: {name: table.model_dump() for name, table in tables.items()} for provider, tables in config.grades.providers.items()},
    )
    rows = query_counts(conn, start=start, end=end, group_by=("provider",), tenant=config.tenant)
    return grade_providers(rows, benchmarks, period.length.days, config.grades.min_volume, complaint_data=complaint_data)


def grade_rows(report: GradeReport) -> list[list[str]]:
    rows = []
    for provider in report.providers:
        cells = [PROVIDER_NAMES.get(provider.provider, provider.provider), str(provider.volume)]
        for item in provider.metrics:
            if not item.has_data:
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
