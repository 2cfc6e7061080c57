"""The evaluation step: evaluate the rules at one time, update alerts, queue notifications.

Each evaluation is one transaction: the signals' alert changes, their
history, their outbox rows and the `evaluations` cursor commit together or
not at all. The cursor records the latest evaluated minute, so `inboxwatch
run` can replay the minutes it missed while it was stopped. A replay of
earlier times leaves the cursor and the open alerts evaluated later alone.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.alerting.engine import AppliedOutcome, apply_signals
from inboxwatch.alerting.routing import Route
from inboxwatch.analysis.rules import Levels, ThresholdRule
from inboxwatch.analysis.thresholds import evaluate, evaluation_times, minute_floor
from inboxwatch.config.models import Config, RuleSettings
from inboxwatch.model.alerts import Alert
from inboxwatch.store.cursors import get_cursor, set_cursor

log = logging.getLogger(__name__)

CURSOR_NAME = "evaluations"


@dataclasses.dataclass(frozen=True)
class EvaluationSummary:
    """The result of one evaluation: the number of signals and the alerts that changed, by decision."""

    at: datetime
    signals: int
    outcomes: tuple[AppliedOutcome, ...]

    def alerts(self, decision: str) -> list[Alert]:
        """Return the alerts whose outcome was `decision` (fired, resolved, escalated, repeated, ...)."""
        return [item.alert for item in self.outcomes if item.outcome.decision == decision and item.alert is not None]

    @property
    def notifications(self) -> int:
        return sum(item.notifications for item in self.outcomes)


def threshold_rules(config: Config) -> list[ThresholdRule]:
    """Build the enabled threshold rules of `config`."""
    return [threshold_rule(name, settings) for name, settings in config.enabled_rules().items()]


def threshold_rule(name: str, settings: RuleSettings) -> ThresholdRule:
    return ThresholdRule(
        name=name,
        metric=settings.metric,
        direction=settings.direction,
        levels=Levels(settings.warning, settings.critical),
        window=settings.window,
        hold_for=settings.for_,
        min_volume=settings.min_volume,
        group_by=tuple(settings.group_by),
        use_wilson=settings.use_wilson,
        wilson_z=settings.wilson_z,
        provider_levels={
            provider.value: Levels(levels.warning, levels.critical) for provider, levels in settings.providers.items()
        },
    )


def alert_routes(config: Config) -> list[Route]:
    """Build the routes of `config`, named by their position in the file (`routes[0]`, ...)."""
    return [
        Route(
            name="routes[%d]" % index,
            channels=tuple(settings.channels),
            match=dict(settings.match),
            match_re={label: re.compile(pattern) for label, pattern in settings.match_re.items()},
            repeat_interval=settings.repeat_interval,
            continue_=settings.continue_,
        )
        for index, settings in enumerate(config.routes)
    ]


def run_evaluation(engine: sa.Engine, config: Config, now: datetime, *, notify: bool = True) -> EvaluationSummary:
    """Evaluate every rule at `now`, apply the signals to the alerts and queue notifications, in one transaction.

    `now` is taken down to its minute. With `notify` false the alerts change
    as usual but no outbox rows are written, for replaying old logs without
    paging anyone.
    """
    at = minute_floor(now)
    rules = threshold_rules(config)
    routes = alert_routes(config)
    channels = [channel.name for channel in config.channels] if notify else []
    if not notify:
        routes = [dataclasses.replace(route, channels=()) for route in routes]

    with engine.begin() as conn:
        signals = evaluate(conn, rules, at)
        outcomes = apply_signals(conn, signals, now=at, routes=routes, all_channels=channels)
        last = get_cursor(conn, CURSOR_NAME)
        if last is None or at > last:
            set_cursor(conn, CURSOR_NAME, at)

    summary = EvaluationSummary(at, len(signals), tuple(outcomes))
    log.info(
        "evaluated %d rules at %s: %d signals, %d fired, %d resolved, %d notifications",
        len(rules),
        at.isoformat(),
        len(signals),
        len(summary.alerts("fired")),
        len(summary.alerts("resolved")),
        summary.notifications,
    )
    return summary


def evaluate_range(
    engine: sa.Engine,
    config: Config,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=1),
    *,
    notify: bool = True,
) -> list[EvaluationSummary]:
    """Replay evaluations from `start` to `end` every `step`, one transaction each, in event time.

    Alerts get the times at which the breaches happened, so yesterday's log
    raises yesterday's alerts at the right minutes.
    """
    return [run_evaluation(engine, config, at, notify=notify) for at in evaluation_times(start, end, step)]


def catch_up(engine: sa.Engine, config: Config, now: datetime) -> list[EvaluationSummary]:
    """Evaluate every interval missed since the last stored evaluation, up to `now`.

    Without a cursor, or when the gap is longer than `service.max_catch_up`,
    evaluation starts that long before `now` at most.
    """
    step = config.service.evaluation_interval
    if step % timedelta(minutes=1):
        # Rollups have minute resolution, so a sub-minute interval replays minute by minute.
        step = timedelta(minutes=1)
    with engine.connect() as conn:
        last = get_cursor(conn, CURSOR_NAME)
    earliest = minute_floor(now) - config.service.max_catch_up
    if last is None:
        return [run_evaluation(engine, config, now)]
    start = max(last + step, earliest)
    if last < earliest:
        log.warning("last evaluation was at %s; replaying only from %s (service.max_catch_up)", last.isoformat(), start.isoformat())
    return evaluate_range(engine, config, start, now, step)
