"""Prometheus `/metrics`: figures read from the store at scrape time, and the receiver's own counters.

The store figures are computed on each scrape by a custom collector, so
several processes sharing a database report the same numbers and nothing
is kept in memory between scrapes. Event totals are sums over the per-minute
rollups, which the retention purge leaves in place, so the totals only grow.
NOTE: that sum reads every rollup row on each scrape; a store with years of
rollups may need a cached total.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from inboxwatch.analysis.rates import rates_for
from inboxwatch.store.metrics import COUNT_FIELDS, query_counts
from inboxwatch.store.outbox import FAILED, count_by_status
from inboxwatch.store.overview import count_alerts, newest_event_time

log = logging.getLogger(__name__)

# Window of the rate gauges.
RATE_WINDOW = timedelta(hours=1)

# Start of the window for event totals: before any event the store can hold.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def webhook_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "inboxwatch_webhook_requests",
        "Webhook requests by ESP and outcome (accepted, unauthorized, replayed, malformed, error)",
        ["esp", "outcome"],
        registry=registry,
    )


class StoreCollector(Collector):
    """Reads events, rates, alerts, the outbox and ingest lag from the store on each scrape."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        up = GaugeMetricFamily("inboxwatch_store_up", "1 when the store answered this scrape, else 0")
        try:
            with self.engine.connect() as conn:
                families = list(self.store_families(conn, now))
        except sa.exc.SQLAlchemyError as exc:
            log.error("reading the store for /metrics failed: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def store_families(self, conn: sa.Connection, now: datetime) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "inboxwatch_events",
            "Delivery events stored, by type and mailbox provider; type hard_bounced is a subset of bounced",
            labels=["type", "provider"],
        )
        minute_end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for row in query_counts(conn, start=EPOCH, end=minute_end, group_by=("provider",)):
            for field in COUNT_FIELDS:
                events.add_metric([field, row.key[0]], getattr(row, field))
        yield events

        rate = GaugeMetricFamily("inboxwatch_rate", "Deliverability rates over the last hour, by provider", labels=["rate", "provider"])
        denominator = GaugeMetricFamily(
            "inboxwatch_rate_denominator", "Denominator of each rate over the last hour, by provider", labels=["rate", "provider"]
        )
        for row in query_counts(conn, start=now - RATE_WINDOW, end=now, group_by=("provider",)):
            for name, value in rates_for(row).items():
                denominator.add_metric([name, row.key[0]], value.denominator)
                if value.value is not None:
                    rate.add_metric([name, row.key[0]], value.value)
        yield rate
        yield denominator

        alerts = GaugeMetricFamily("inboxwatch_alerts", "Alerts by state and severity", labels=["state", "severity"])
        for (state, severity), count in sorted(count_alerts(conn).items()):
            alerts.add_metric([state, severity], count)
        yield alerts

        statuses = count_by_status(conn)
        outbox = GaugeMetricFamily("inboxwatch_outbox", "Outbox notifications by status", labels=["status"])
        for status, count in sorted(statuses.items()):
            outbox.add_metric([status], count)
        yield outbox
        yield GaugeMetricFamily("inboxwatch_notifications_failed", "Notifications that failed for good", value=statuses[FAILED])

        newest = newest_event_time(conn)
        if newest is not None:
            # An event dated in the future (a sender's clock running ahead) would make the lag negative; 0 means "up to date".
            lag = max(0.0, (now - newest).total_seconds())
            yield GaugeMetricFamily(
                "inboxwatch_ingest_lag_seconds", "Now minus the time of the newest stored event, at least 0", value=lag
            )
