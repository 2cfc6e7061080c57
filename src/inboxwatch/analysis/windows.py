"""Window sums over per-minute counts held in memory.

Replaying the threshold rules minute by minute over a day needs
thousands of windows that overlap almost entirely; reading the minutes once
and summing here gives the same figures as `store.metrics.query_counts`
without a query per window.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from inboxwatch.store.metrics import COUNT_FIELDS, DIMENSIONS, CountRow


class MinuteCounts:
    """Per-minute counts by every dimension, from which window sums are computed as `query_counts` computes them.

    `minutes` are (minute, CountRow) pairs whose keys hold the values of
    `dimensions` in order, as `store.metrics.query_minutes` returns them.
    """

    def __init__(self, minutes: Sequence[tuple[datetime, CountRow]], dimensions: Sequence[str] = DIMENSIONS) -> None:
        self.dimensions = tuple(dimensions)
        ordered = sorted(minutes, key=lambda pair: pair[0])
        self._times = [time for time, _ in ordered]
        self._rows = [row for _, row in ordered]

    def counts(
        self,
        *,
        start: datetime,
        end: datetime,
        group_by: Sequence[str],
        tenant: str | None = None,
    ) -> list[CountRow]:
        """Sum the counts in [start, end) per `group_by` group, sorted by key; empty groups are absent."""
        positions = [self.dimensions.index(name) for name in group_by]
        tenant_position = self.dimensions.index("tenant")
        first = bisect.bisect_left(self._times, start)
        last = bisect.bisect_left(self._times, end)

        sums: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0] * len(COUNT_FIELDS))
        for row in self._rows[first:last]:
            if tenant is not None and row.key[tenant_position] != tenant:
                continue
            total = sums[tuple(row.key[p] for p in positions)]
            for index, name in enumerate(COUNT_FIELDS):
                total[index] += getattr(row, name)
        return [CountRow(key, *values) for key, values in sorted(sums.items())]
