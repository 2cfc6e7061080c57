"""The overview: per-group outcome counts and rates over a named range, shaped for charts.

A range name (24h, 7d, 30d) fixes the window and the chart step. The window
ends at the first step boundary after now, so step boundaries stay the same
between requests and the current minute is always inside the window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from inboxwatch.analysis.rates import RATE_NAMES, rates_for
from inboxwatch.store.metrics import COUNT_FIELDS, CountRow, FilterValue, query_series, sent_volume


@dataclasses.dataclass(frozen=True)
class OverviewRange:
    """A window length and the step its charts are drawn at."""

    name: str
    length: timedelta
    step: timedelta


# About 100 points or fewer per chart line: enough to show a dip, few enough to draw on a phone.
RANGES = {
    "24h": OverviewRange("24h", timedelta(hours=24), timedelta(minutes=15)),
    "7d": OverviewRange("7d", timedelta(days=7), timedelta(hours=2)),
    "30d": OverviewRange("30d", timedelta(days=30), timedelta(hours=12)),
}

# Groups drawn as their own line; the rest are summed into OTHER_KEY so a chart stays readable.
MAX_LINES = 8
OTHER_KEY = "(others)"

# Counts drawn per step next to the rates.
SERIES_COUNTS = ("sent", "delivered", "deferred", "bounced", "complained")

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def window_for(overview_range: OverviewRange, now: datetime) -> tuple[datetime, datetime]:
    """Return [start, end) of the range ending at the first step boundary after `now` (steps count from the epoch)."""
    steps = (now - EPOCH) // overview_range.step + 1
    end = EPOCH + steps * overview_range.step
    return end - overview_range.length, end


def counts_json(row: CountRow) -> dict[str, Any]:
    return {
        "counts": {name: getattr(row, name) for name in COUNT_FIELDS},
        "volume": sent_volume(row),
        "rates": {
            name: {"value": rate.value, "numerator": rate.numerator, "denominator": rate.denominator}
            for name, rate in rates_for(row).items()
        },
    }


def build_overview(
    conn: sa.Connection,
    overview_range: OverviewRange,
    *,
    now: datetime,
    dimension: str = "provider",
    where: Mapping[str, FilterValue] | None = None,
    tenant: str | None = None,
) -> dict[str, Any]:
    """Read the range's series grouped by `dimension` and return times, one line per group, and totals.

    Totals cover every group, largest volume first. Lines are drawn for the
    MAX_LINES largest groups, and the others are summed into one line.
    A rate is None at a step whose denominator is 0.

    The 7d and 30d ranges step by whole hours from a window start on an
    hour, so `query_series` reads their hourly rollups. The 24h range steps
    by 15 minutes from a window start on a quarter hour, so it reads the
    15-minute rollups. docs/benchmarks.md ("Overview API response time")
    has the figures.
    """
    start, end = window_for(overview_range, now)
    series = query_series(conn, start=start, end=end, step=overview_range.step, group_by=(dimension,), tenant=tenant, where=where)

    totals: dict[str, CountRow] = {}
    for _, row in series:
        key = row.key[0]
        totals[key] = totals[key] + row if key in totals else row
    ranked = sorted(totals, key=lambda key: (-sent_volume(totals[key]), key))
    drawn = ranked[:MAX_LINES]
    folded = set(ranked[MAX_LINES:])

    times: list[int] = []
    steps: dict[str, dict[int, CountRow]] = {key: {} for key in drawn}
    if folded:
        steps[OTHER_KEY] = {}
    for time, row in series:
        stamp = int(time.timestamp())
        if not times or times[-1] != stamp:
            times.append(stamp)
        key = row.key[0]
        line = OTHER_KEY if key in folded else key
        previous = steps[line].get(stamp)
        steps[line][stamp] = row if previous is None else previous + row

    return {
        "range": overview_range.name,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "step_seconds": int(overview_range.step.total_seconds()),
        "group_by": dimension,
        "times": times,
        "lines": [line_json(key, [points.get(stamp, CountRow.zero((key,))) for stamp in times]) for key, points in steps.items()],
        "totals": [{"key": key, **counts_json(totals[key])} for key in ranked],
    }


def line_json(key: str, rows: list[CountRow]) -> dict[str, Any]:
    """Return one chart line: per-step counts, sending volume and rate values."""
    line: dict[str, Any] = {"key": key, "volume": [sent_volume(row) for row in rows]}
    for name in SERIES_COUNTS:
        line[name] = [getattr(row, name) for row in rows]
    rates = [rates_for(row) for row in rows]
    for name in RATE_NAMES:
        line[name] = [step_rates[name].value for step_rates in rates]
    return line
