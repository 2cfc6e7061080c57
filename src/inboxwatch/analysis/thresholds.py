"""Evaluating threshold rules against the store at one moment of event time.

The window of a rule evaluated at `at` is the whole minutes
[at - window, at), with `at` taken down to its minute, because rollups count
whole minutes and the minute in progress is incomplete. Evaluating at a
past time reads the events of that time, so history can be replayed.
"""

from __future__ import annotations

import logging
import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from inboxwatch.analysis.rates import rates_for
from inboxwatch.analysis.rules import ThresholdRule, judge
from inboxwatch.model.alerts import Signal
from inboxwatch.store.db import as_utc
from inboxwatch.store.metrics import CountRow, query_counts

log = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)


# Called as counts(start=, end=, group_by=, tenant=) -> list[CountRow], like
# `store.metrics.query_counts` without the connection.
CountsFunction = Callable[..., list[CountRow]]


def evaluate(
    conn: sa.Connection,
    rules: Sequence[ThresholdRule],
    at: datetime,
    tenant: str | None = None,
    counts: CountsFunction | None = None,
) -> list[Signal]:
    """Evaluate every rule at `at` and return one signal per (rule, group) with enough volume.

    Groups are per tenant and the rule's `group_by` dimensions; `tenant`
    limits the evaluation to one tenant. `counts` replaces the store query,
    for replays that read the minutes once (`analysis.windows.MinuteCounts`).
    """
    if counts is None:
        counts = functools.partial(query_counts, conn)
    end = minute_floor(at)
    signals: list[Signal] = []
    for rule in rules:
        dimensions = ("tenant",) + tuple(rule.group_by)
        rows = counts(start=end - rule.window, end=end, group_by=dimensions, tenant=tenant)
        judged = 0
        for row in rows:
            labels = dict(zip(dimensions, row.key))
            signal = judge(rule, labels, rates_for(row)[rule.metric], end)
            if signal is not None:
                signals.append(signal)
                judged += 1
        log.debug("rule %s at %s: %d groups, %d with enough volume", rule.name, end.isoformat(), len(rows), judged)
    return signals


def evaluation_times(start: datetime, end: datetime, step: timedelta = MINUTE) -> Iterator[datetime]:
    """Yield the evaluation times from `start` to `end` inclusive, every `step`, starting at `start`'s minute."""
    if step < MINUTE or step % MINUTE:
        raise ValueError("invalid step %s: expected a whole number of minutes, at least 1m" % step)
    time = minute_floor(start)
    end = as_utc(end)
    while time <= end:
        yield time
        time += step


def minute_floor(time: datetime) -> datetime:
    return as_utc(time).replace(second=0, microsecond=0)
