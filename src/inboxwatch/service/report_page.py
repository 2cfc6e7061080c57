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
from inboxwatch.model.alerts import AlertState
from inboxwatch.service.complaint_sources import has_complaint_data
from inboxwatch.service.svg_chart import Series, line_chart
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.db import as_utc
from inboxwatch.store.dns_checks import latest_listings
from inboxwatch.store.metrics import query_counts, query_series
from inboxwatch.store.reputation import feed_states, latest_sender_scores, latest_snds_data, postmaster_days

# Rates drawn in the report, and the smallest denominator a step needs to be drawn at all.
CHARTED_RATES = ("bounce_rate", "deferral_rate", "complaint_rate")
MIN_POINT_VOLUME = 20

# Alerts looked at for chart markers.
MAX_ALERTS = 500

TEMPLATE = jinja2.Environment(autoescape=True).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>inboxwatch {{ period }} report</title>
<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.note{color:#666}</style>
</head><body>
<h1>inboxwatch {{ period }} report</h1>
<p>{{ start }} to {{ end }} (UTC), tenant {{ tenant }}.</p>
<h2>Rates per provider</h2>
{% if not charts %}<p class="note">No mail stored in this period.</p>{% endif %}
{% for title, svg in charts %}<h3>{{ title }}</h3>{{ svg|safe }}{% endfor %}
{% if charts and not complaint_data %}<h3>Complaint rate</h3><p class="note">No complaint data: no feedback loop or ESP source exists for this period, so no complaint rate is drawn.</p>{% endif %}
<p class="note">Dashed lines mark alerts that started in the period; hover for the summary. Steps with fewer than {{ min_volume }} messages are gaps.</p>
<h2>Alerts</h2>
{% if alerts %}<table><tr><th>started</th><th>state</th><th>severity</th><th>summary</th></tr>
{% for alert in alerts %}<tr><td>{{ alert.pending_since }}</td><td>{{ alert.state.value }}</td><td>{{ alert.severity.value }}</td><td>{{ alert.summary }}</td></tr>{% endfor %}</table>
{% else %}<p class="note">No alert started in this period.</p>{% endif %}
<h2>Grades</h2>
{% if grades.providers %}<table><tr><th>provider</th><th>sent</th><th>delivery</th><th>bounce</th><th>complaint</th><th>overall</th></tr>
{% for row in grade_rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>
<p>Overall grade: {{ grades.overall or "-" }}{% if grade_note %} ({{ grade_note }}){% endif %}</p>
{% for text in grades.recommendations %}<p>{{ text }}</p>{% endfor %}
{% else %}<p class="note">No mail to grade.</p>{% endif %}
<h2>Reputation</h2>
{% if not feeds and not snds and not postmaster and not scores %}<p class="note">No reputation feed data stored. Configure [reputation] and run <code>inboxwatch reputation fetch</code>.</p>{% endif %}
{% for feed in feeds %}<p>{{ feed.feed }}: {{ feed.status }}, last attempt {{ feed.last_attempt_at }}{% if feed.error %}: {{ feed.error }}{% endif %}</p>{% endfor %}
{% if snds %}<h3>Microsoft SNDS</h3><table><tr><th>IP</th><th>period</th><th>filter</th><th>complaints</th><th>trap hits</th></tr>
{% for row in snds %}<tr><td>{{ row.ip }}</td><td>{{ row.activity_start }} to {{ row.activity_end }}</td><td>{{ row.filter_result }}</td><td>{{ row.complaint_rate_text }}</td><td>{{ row.trap_hits }}</td></tr>{% endfor %}</table>{% endif %}
{% if postmaster %}<h3>Google Postmaster Tools</h3><table><tr><th>domain</th><th>day</th><th>spam rate</th><th>SPF</th><th>DKIM</th><th>DMARC</th><th>domain reputation</th></tr>
{% for row in postmaster %}<tr><td>{{ row.domain }}</td><td>{{ row.day }}</td>{% for value in row.cells %}<td>{{ value }}</td>{% endfor %}<td>{{ row.domain_reputation or "-" }}</td></tr>{% endfor %}</table>{% endif %}
{% if scores %}<h3>Validity Sender Score</h3><table><tr><th>IP</th><th>score</th><th>checked</th></tr>
{% for row in scores %}<tr><td>{{ row.ip }}</td><td>{{ row.score if row.score is not none else "no score" }}</td><td>{{ row.checked_at }}</td></tr>{% endfor %}</table>{% endif %}
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
    alerts = [
        alert
        for alert in alert_store.list_alerts(conn, states=list(AlertState), tenant=tenant, limit=MAX_ALERTS)
        if start <= as_utc(alert.pending_since) < end
    ]
    markers = [(as_utc(alert.pending_since), alert.summary or alert.rule) for alert in alerts]
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
        alerts=alerts,
        complaint_data=complaint_data,
        grades=grades,
        grade_rows=grade_rows(grades),
        grade_note=missing_data_note(grades),
        feeds=list(feed_states(conn, tenant).values()),
        snds=latest_snds_data(conn, tenant),
        postmaster=postmaster_rows(conn, tenant),
        scores=latest_sender_scores(conn, tenant),
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


def postmaster_rows(conn: sa.Connection, tenant: str) -> list[dict[str, Any]]:
    rows = []
    for row in postmaster_days(conn, tenant, limit=7):
        cells = [percent(row[name]) if row[name] is not None else "-" for name in ("spam_rate", "spf_success_rate", "dkim_success_rate", "dmarc_success_rate")]
        rows.append({**row, "cells": cells})
    return rows
