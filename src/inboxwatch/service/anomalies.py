"""The anomaly step of an evaluation: read hourly counts, run the detectors, return signals.

Anomalies are judged on whole hours, once per hour: the `anomalies` cursor
stores the last judged hour, so evaluating every minute costs one cursor
read in the other 59 minutes. Each tenant and each `group_by` dimension is
judged as its own fleet, so a small IP is shrunk toward the tenant's other
IPs and never toward another tenant's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.analysis.anomaly.detectors import HOUR, HourPoint
from inboxwatch.analysis.anomaly.findings import to_signal
from inboxwatch.analysis.anomaly.fleet import detect
from inboxwatch.analysis.anomaly.parameters import AnomalyParameters
from inboxwatch.config.models import AnomalySettings
from inboxwatch.model.alerts import Signal
from inboxwatch.store.cursors import get_cursor, set_cursor
from inboxwatch.store.db import as_utc
from inboxwatch.store.metrics import query_series

log = logging.getLogger(__name__)

CURSOR_NAME = "anomalies"


def parameters_from(settings: AnomalySettings) -> AnomalyParameters:
    """Build the detectors' parameters from the `[anomaly]` section."""
    fields = {name for name in AnomalyParameters.__dataclass_fields__}
    return AnomalyParameters(**{name: getattr(settings, name) for name in fields})


def lookback(params: AnomalyParameters) -> timedelta:
    """Return how much history the detectors read: the longer of the rate and the volume needs."""
    rates = params.baseline + params.monitor + max(params.complaint_maturity, params.bounce_maturity, params.deferral_maturity)
    volume = timedelta(weeks=params.volume_weeks) + (params.volume_hours + 1) * HOUR + params.volume_maturity
    return max(rates, volume) + HOUR


def hour_floor(time: datetime) -> datetime:
    return as_utc(time).replace(minute=0, second=0, microsecond=0)


def anomaly_signals(conn: sa.Connection, settings: AnomalySettings, at: datetime, *, force: bool = False) -> list[Signal]:
    """Judge every group once per hour and return one signal per (group, metric) that could be judged.

    Returns nothing when anomaly detection is disabled, or when the hour is
    at or before the last judged one (a replay of history already judged)
    and `force` is not set. A forced judgement of an earlier hour leaves the
    cursor alone.
    """
    if not settings.enabled:
        return []
    end = hour_floor(at)
    last = get_cursor(conn, CURSOR_NAME)
    if not force and last is not None and end <= last:
        return []
    params = parameters_from(settings)
    start = end - lookback(params)
    signals: list[Signal] = []
    for dimension in settings.group_by:
        series = query_series(conn, start=start, end=end, step=HOUR, group_by=("tenant", dimension))
        fleets: dict[str, dict[tuple[tuple[str, str], ...], list[HourPoint]]] = defaultdict(dict)
        for step_start, row in series:
            tenant, value = row.key
            if not value:
                # Events without this dimension (no sending IP known) are no group of it.
                continue
            key = (("tenant", tenant), (dimension, value))
            fleets[tenant].setdefault(key, []).append((step_start, row))
        for tenant, groups in fleets.items():
            findings = detect(groups, end, params)
            signals.extend(to_signal(finding, end, settings.for_.total_seconds()) for finding in findings)
            log.debug(
                "anomalies at %s for tenant %s by %s: %d groups, %d findings, %d anomalous",
                end.isoformat(),
                tenant,
                dimension,
                len(groups),
                len(findings),
                sum(1 for finding in findings if finding.anomalous),
            )
    if last is None or end > last:
        set_cursor(conn, CURSOR_NAME, end)
    return signals
