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
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.alerting.engine import KEEP_FIRING_ANNOTATION, AppliedOutcome, apply_signals
from inboxwatch.analysis.rules import Levels, ThresholdRule
from inboxwatch.analysis.thresholds import CountsFunction, evaluate, evaluation_times, minute_floor
from inboxwatch.analysis.windows import MinuteCounts
from inboxwatch.config.models import Config, RuleSettings
from inboxwatch.model.alerts import Alert, Signal
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.service.anomalies import anomaly_signals
from inboxwatch.service.reputation import reputation_signals
from inboxwatch.store.cursors import get_cursor, set_cursor
from inboxwatch.store.metrics import query_minutes

log = logging.getLogger(__name__)

CURSOR_NAME = "evaluations"


@dataclasses.dataclass(frozen=True)
class EvaluationSummary:
    """The result of one evaluation: the number of signals, the alerts that changed, and the outbox rows written."""

    at: datetime
    signals: int
    outcomes: tuple[AppliedOutcome, ...]
    notifications: int = 0

    def alerts(self, decision: str) -> list[Alert]:
        """Return the alerts whose outcome was `decision` (fired, resolved, raised, flapping, ...)."""
        return [item.alert for item in self.outcomes if item.outcome.decision == decision and item.alert is not None]


def threshold_rules(config: Config) -> list[ThresholdRule]:
    """Build the enabled threshold rules of `config`."""
    return [threshold_rule(name, settings) for name, settings in config.enabled_rules().items()]


def with_keep_firing(signal: Signal, keep_firing: dict[str, timedelta]) -> Signal:
    """Add the rule's `keep_firing_for` to the signal's annotations, where the alert engine reads it."""
    duration = keep_firing.get(signal.rule)
    if not duration:
        return signal
    annotations = {**signal.annotations, KEEP_FIRING_ANNOTATION: duration.total_seconds()}
    return dataclasses.replace(signal, annotations=annotations)


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
        exit_level=settings.resolve_below if settings.direction == "above" else settings.resolve_above,
        provider_levels={
            provider.value: Levels(levels.warning, levels.critical) for provider, levels in settings.providers.items()
        },
    )


def run_evaluation(
    engine: sa.Engine,
    config: Config,
    now: datetime,
    *,
    notify: bool = True,
    counts: CountsFunction | None = None,
) -> EvaluationSummary:
    """Evaluate every rule at `now`, apply the signals to the alerts and queue notifications, in one transaction.

    `now` is taken down to its minute. With `notify` false the alerts change
    as usual but no outbox rows are written, for replaying old logs without
    paging anyone.
    """
    at = minute_floor(now)
    rules = threshold_rules(config)
    policy = alert_policy(config, notify=notify)
    keep_firing = {name: settings.keep_firing_for for name, settings in config.enabled_rules().items()}

    with engine.begin() as conn:
        signals = [with_keep_firing(signal, keep_firing) for signal in evaluate(conn, rules, at, counts=counts)]
        signals += anomaly_signals(conn, config.anomaly, at)
        signals += reputation_signals(conn, config, at)
        result = apply_signals(conn, signals, now=at, policy=policy)
        last = get_cursor(conn, CURSOR_NAME)
        if last is None or at > last:
            set_cursor(conn, CURSOR_NAME, at)

    summary = EvaluationSummary(at, len(signals), result.outcomes, result.notifications)
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
    raises yesterday's alerts at the right minutes. The per-minute counts of
    the whole range are read once, before the first evaluation.
    """
    times = list(evaluation_times(start, end, step))
    if not times:
        return []
    longest = max((rule.window for rule in threshold_rules(config)), default=timedelta(0))
    with engine.connect() as conn:
        minutes = MinuteCounts(query_minutes(conn, start=times[0] - longest, end=times[-1]))
    return [run_evaluation(engine, config, at, notify=notify, counts=minutes.counts) for at in times]


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
