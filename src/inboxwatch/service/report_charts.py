"""The rate charts of the HTML report: one chart per rate, lines per provider, and the alerts of that rate marked.

A chart marks only the alerts of its own metric (the bounce rate chart the
`bounce_rate` and `hard_bounce_rate` alerts, and so on), coloured by
severity. Alerts of other rules, such as blocklist or reputation alerts,
are listed in the alert table only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inboxwatch.analysis.rates import rates_for
from inboxwatch.analysis.rules import PROVIDER_NAMES
from inboxwatch.model.alerts import Alert
from inboxwatch.service.svg_chart import Marker, Series, line_chart
from inboxwatch.store.db import as_utc
from inboxwatch.store.metrics import query_series

# Rates drawn in the report, in order, with the alert metrics each chart marks.
CHARTED_RATES = {
    "delivery_rate": ("delivery_rate",),
    "bounce_rate": ("bounce_rate", "hard_bounce_rate"),
    "deferral_rate": ("deferral_rate",),
    "complaint_rate": ("complaint_rate",),
}

# The smallest denominator a step needs to be drawn at all.
MIN_POINT_VOLUME = 20


def rate_charts(
    conn: sa.Connection, tenant: str, start: datetime, end: datetime, step: timedelta, alerts: Sequence[Alert], *, complaint_data: bool = True
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
    for metric, alert_metrics in CHARTED_RATES.items():
        if metric == "complaint_rate" and not complaint_data:
            continue
        series = []
        for provider, points in sorted(by_provider.items()):
            values = [(time, rates[metric].value if rates[metric].denominator >= MIN_POINT_VOLUME else None) for time, rates in points]
            series.append(Series(PROVIDER_NAMES.get(provider, provider), values))
        markers = alert_markers(alerts, alert_metrics, start)
        charts.append((metric.replace("_", " ").capitalize(), line_chart(series, start=start, end=end, markers=markers)))
    return charts


def alert_markers(alerts: Sequence[Alert], metrics: Sequence[str], start: datetime) -> list[Marker]:
    """Make a marker for each alert of one of `metrics` that started at or after `start`."""
    markers = []
    for alert in alerts:
        started = as_utc(alert.pending_since)
        if started < start or alert_metric(alert) not in metrics:
            continue
        markers.append(Marker(started, "%s: %s" % (alert.severity.value, alert.summary or alert.rule), alert.severity.value))
    return markers


def alert_metric(alert: Alert) -> str:
    """Return the metric an alert judged: the `metric` annotation of threshold rules, else the rule name."""
    metric = alert.annotations.get("metric") if alert.annotations else None
    return metric if isinstance(metric, str) else alert.rule
