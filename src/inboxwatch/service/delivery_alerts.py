"""Operator alerts about notification delivery: `notification_failed` per channel.

The outbox sender gives up on a notification after a permanent error (a 4xx
reply, bad settings) or when its retries are used up. This module then
raises a warning alert with the label `channel`, written through the alert
engine like any evaluator's signal. The failing channel is left out of that alert's
channels, so it reaches the operators through the others.

A delivery through the channel resolves the alert, but not before the alert
has fired for `keep_firing_for`: the longest `group_wait` of the routes
plus two minutes. A resolve within `group_wait` would otherwise end the
incident before its group sent the firing notification, and the operators
would never learn that a message was lost. The two minutes cover the once-a-minute
evaluation that sends it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.alerting.cycle import Policy
from inboxwatch.alerting.engine import KEEP_FIRING_ANNOTATION, CycleResult, apply_signals
from inboxwatch.alerting.routing import Route
from inboxwatch.config.models import Config
from inboxwatch.model.alerts import Severity, Signal
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.outbox import OutboxRow

log = logging.getLogger(__name__)

NOTIFICATION_FAILED_RULE = "notification_failed"

# Added to the longest group_wait: two evaluations, which run once a minute.
FIRING_NOTIFICATION_MARGIN = timedelta(minutes=2)


class DeliveryAlerts:
    """The outbox sender's `DeliveryObserver` in the service: turns final outcomes into signals."""

    def __init__(self, engine: sa.Engine, config: Config) -> None:
        self.engine = engine
        self.tenant = config.tenant
        self.policy = alert_policy(config)
        self.keep_firing_for = longest_group_wait(self.policy.root) + FIRING_NOTIFICATION_MARGIN
        # Channels with an open notification_failed alert, read from the
        # store on first use, so a success only costs a query when needed.
        self._failing: set[str] | None = None

    def notification_failed(self, row: OutboxRow, error: str, now: datetime) -> None:
        signal = self.signal(row.channel, True, now, "notifications via channel %s are failing: %s" % (row.channel, error))
        self.apply(signal, row.channel, now)
        self.failing_channels().add(row.channel)
        log.warning("alert %s raised for channel %s after outbox %d failed", NOTIFICATION_FAILED_RULE, row.channel, row.id)

    def notification_sent(self, row: OutboxRow, now: datetime) -> None:
        if row.channel not in self.failing_channels():
            return
        signal = self.signal(row.channel, False, now, "channel %s delivered outbox %d" % (row.channel, row.id))
        result = self.apply(signal, row.channel, now)
        if not any(item.outcome.decision == "resolved" for item in result.outcomes):
            log.info(
                "alert %s for channel %s kept firing for at least %s: outbox %d was delivered",
                NOTIFICATION_FAILED_RULE,
                row.channel,
                self.keep_firing_for,
                row.id,
            )
            return
        self.failing_channels().discard(row.channel)
        log.info("alert %s for channel %s resolved: outbox %d was delivered", NOTIFICATION_FAILED_RULE, row.channel, row.id)

    def signal(self, channel: str, breached: bool, now: datetime, summary: str) -> Signal:
        return Signal(
            rule=NOTIFICATION_FAILED_RULE,
            severity=Severity.WARNING,
            labels={"tenant": self.tenant, "channel": channel},
            breached=breached,
            time=now,
            summary=summary,
            annotations={KEEP_FIRING_ANNOTATION: self.keep_firing_for.total_seconds()},
        )

    def apply(self, signal: Signal, failing_channel: str, now: datetime) -> CycleResult:
        policy = policy_without(self.policy, failing_channel)
        with self.engine.begin() as conn:
            return apply_signals(conn, [signal], now=now, policy=policy)

    def failing_channels(self) -> set[str]:
        if self._failing is None:
            with self.engine.connect() as conn:
                open_alerts = alert_store.open_alerts(conn, tenant=self.tenant).values()
            self._failing = {
                str(alert.labels.get("channel"))
                for alert in open_alerts
                if alert.rule == NOTIFICATION_FAILED_RULE and alert.labels.get("channel")
            }
        return self._failing


def longest_group_wait(route: Route) -> timedelta:
    return max([route.group_wait, *(longest_group_wait(child) for child in route.routes)])


def policy_without(policy: Policy, channel: str) -> Policy:
    """Drop `channel` from every route of the policy, so an alert about a channel is not sent through it."""
    return dataclasses.replace(policy, root=route_without(policy.root, channel))


def route_without(route: Route, channel: str) -> Route:
    return dataclasses.replace(
        route,
        channels=tuple(name for name in route.channels if name != channel),
        routes=tuple(route_without(child, channel) for child in route.routes),
    )
