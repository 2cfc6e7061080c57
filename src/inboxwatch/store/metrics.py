"""Counts of delivery outcomes over time windows, read from the per-minute, 15-minute and hourly rollups.

A window is [start, end): a rollup minute belongs to it when the minute's
start is at or after `start` and before `end`. Raw events are never read
here, so counts stay available after retention deletes the events.

Whole UTC hours inside a window are read from `rollups_hourly` (one row per
hour where `rollups` has up to 60), whole quarter hours outside them from
`rollups_quarter_hour` (one row where `rollups` has up to 15), and the
remaining minutes from `rollups`. Every hourly and 15-minute row is the sum
of its minute rows (all three are written in one transaction), so the
results equal those of reading minutes only.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import rollups, rollups_hourly, rollups_quarter_hour

# The rollup columns counts can be grouped and filtered by.
DIMENSIONS = ("tenant", "provider", "sending_ip", "sending_domain", "campaign")

COUNT_FIELDS = (
    "sent",
    "delivered",
    "deferred",
    "bounced",
    "hard_bounced",
    "complained",
    "opened",
    "clicked",
    "unsubscribed",
    "dropped",
)

# A filter value: one value, or any of several.
FilterValue = str | Sequence[str]

HOUR = timedelta(hours=1)
QUARTER_HOUR = timedelta(minutes=15)

# The coarser rollup tables with their bucket length, coarsest first. Buckets
# start on multiples of their length from the Unix epoch, which are whole
# UTC hours and quarter hours.
COARSE_ROLLUPS = ((HOUR, rollups_hourly), (QUARTER_HOUR, rollups_quarter_hour))

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclasses.dataclass(frozen=True)
class CountRow:
    """Outcome counts for one group; `key` contains the group_by dimension values in order."""

    key: tuple[str, ...]
    sent: int
    delivered: int
    deferred: int
    bounced: int
    hard_bounced: int
    complained: int
    opened: int
    clicked: int
    unsubscribed: int
    dropped: int

    @classmethod
    def zero(cls, key: tuple[str, ...]) -> "CountRow":
        return cls(key, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    def __add__(self, other: "CountRow") -> "CountRow":
        sums = {name: getattr(self, name) + getattr(other, name) for name in COUNT_FIELDS}
        return CountRow(key=self.key, **sums)


def sent_volume(row: CountRow) -> int:
    """Return the number of messages sent in a group: the denominator of delivery and bounce rates.

    That is `sent`, unless the window contains more final outcomes
    (`delivered + bounced`) than sends. This happens when the send events
    fell before the window, and always for MTA logs and ESP feeds that
    report no send events (`sent` is 0). Then `delivered + bounced` is used,
    so that a rate never exceeds 1.
    """
    return max(row.sent, row.delivered + row.bounced)


def check_dimensions(names: Sequence[str]) -> None:
    for name in names:
        if name not in DIMENSIONS:
            raise ValueError("invalid dimension %r: expected one of %s" % (name, ", ".join(DIMENSIONS)))


def filtered(
    query: sa.Select,
    *,
    start: datetime,
    end: datetime,
    tenant: str | None,
    where: Mapping[str, FilterValue] | None,
    table: sa.Table = rollups,
) -> sa.Select:
    query = query.where(table.c.bucket >= as_utc(start), table.c.bucket < as_utc(end))
    if tenant is not None:
        query = query.where(table.c.tenant == tenant)
    for name, value in (where or {}).items():
        check_dimensions([name])
        if isinstance(value, str):
            query = query.where(table.c[name] == value)
        else:
            query = query.where(table.c[name].in_(list(value)))
    return query


def count_sums(table: sa.Table | sa.Subquery = rollups) -> list:
    return [sa.func.coalesce(sa.func.sum(table.c[name]), 0).label(name) for name in COUNT_FIELDS]


def rollup_spans(
    start: datetime, end: datetime, coarse: Sequence[tuple[timedelta, sa.Table]] = COARSE_ROLLUPS
) -> list[tuple[sa.Table, datetime, datetime]]:
    """Split [start, end) into (table, span start, span end) in time order, each span read from the coarsest table that fits.

    A bucket of a `coarse` table is read only when it lies wholly inside
    [start, end). What is left on either side is split again with the next
    finer table, and the per-minute rollups take the rest.
    """
    if start >= end:
        return []
    if not coarse:
        return [(rollups, start, end)]
    (length, table), finer = coarse[0], coarse[1:]
    first = start + (EPOCH - start) % length
    last = end - (end - EPOCH) % length
    if first >= last:
        return rollup_spans(start, end, finer)
    return rollup_spans(start, first, finer) + [(table, first, last)] + rollup_spans(last, end, finer)


def rollup_parts(
    names: Sequence[str],
    *,
    start: datetime,
    end: datetime,
    tenant: str | None,
    where: Mapping[str, FilterValue] | None,
) -> list[sa.Select]:
    """Return selects of the columns `names` that together cover [start, end) once, one per span of `rollup_spans`."""
    # An empty window has no spans but still needs one select, which returns no rows.
    spans = rollup_spans(start, end) or [(rollups, start, end)]
    return [
        filtered(sa.select(*(table.c[name] for name in names)), start=first, end=last, tenant=tenant, where=where, table=table)
        for table, first, last in spans
    ]


def row_counts(row, key: tuple[str, ...]) -> CountRow:
    return CountRow(key=key, **{name: int(getattr(row, name)) for name in COUNT_FIELDS})


def query_counts(
    conn: sa.Connection,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str] = ("provider",),
    tenant: str | None = None,
    where: Mapping[str, FilterValue] | None = None,
) -> list[CountRow]:
    """Sum the counts in [start, end) per combination of the `group_by` dimensions.

    `tenant` limits the sums to one tenant; `where` maps dimensions to a
    value or a list of accepted values. Rows are sorted by key. Groups with
    no rollups in the window are absent, except that with an empty
    `group_by` there is always exactly one row, all zeros when nothing
    happened.
    """
    group_by = tuple(group_by)
    check_dimensions(group_by)
    start, end = as_utc(start), as_utc(end)
    parts = rollup_parts(group_by + COUNT_FIELDS, start=start, end=end, tenant=tenant, where=where)
    # One statement even when several tables are read, so that the
    # database sums and sorts the groups (in its own collation) as before.
    source = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("rollup_rows")
    columns = [source.c[name] for name in group_by]
    query = sa.select(*columns, *count_sums(source))
    if columns:
        query = query.group_by(*columns).order_by(*columns)
    return [row_counts(row, tuple(getattr(row, name) for name in group_by)) for row in conn.execute(query)]


def query_sent(
    conn: sa.Connection,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str] = ("provider",),
    tenant: str | None = None,
    where: Mapping[str, FilterValue] | None = None,
) -> dict[tuple[str, ...], int]:
    """Return the sending volume in [start, end) per group, as `sent_volume` defines it."""
    rows = query_counts(conn, start=start, end=end, group_by=group_by, tenant=tenant, where=where)
    return {row.key: sent_volume(row) for row in rows}


def query_series(
    conn: sa.Connection,
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    group_by: Sequence[str] = (),
    tenant: str | None = None,
    where: Mapping[str, FilterValue] | None = None,
) -> list[tuple[datetime, CountRow]]:
    """Sum the counts per step of `step` from `start` (aligned to `start`) up to `end`, per group.

    Every step appears for every key seen anywhere in the window, with zero
    counts where nothing happened, so a drop to zero is visible. With an
    empty `group_by`, every step appears even when the window is empty.
    `step` must be a whole number of minutes, the rollup resolution. The
    result is ordered by step start, then key.

    A coarser rollup table is read only where each of its buckets falls
    into exactly one step: when `start` is on a bucket boundary and `step`
    is a whole number of buckets. So steps of whole hours from a whole hour
    read the hourly rollups, and steps of whole quarter hours (such as 15
    minutes) from a quarter hour read the 15-minute rollups. Minutes are
    read for the rest.
    """
    if step <= timedelta(0) or step % timedelta(minutes=1):
        raise ValueError("invalid step %s: expected a positive whole number of minutes" % step)
    group_by = tuple(group_by)
    check_dimensions(group_by)
    start, end = as_utc(start), as_utc(end)

    # Buckets are summed in the database and folded into steps here, since
    # date arithmetic differs between SQLite and PostgreSQL.
    coarse = [(length, table) for length, table in COARSE_ROLLUPS if not step % length and not (start - EPOCH) % length]
    queries = [
        bucket_sums(table, group_by, start=first, end=last, tenant=tenant, where=where)
        for table, first, last in rollup_spans(start, end, coarse)
    ]

    # Sums are kept as plain lists and rows are read by position, because a
    # month of minutes is hundreds of thousands of rows and building a
    # CountRow per row took most of the time.
    totals: dict[tuple[int, tuple[str, ...]], list[int]] = {}
    keys: set[tuple[str, ...]] = {()} if not group_by else set()
    step_of_bucket: dict[datetime, int] = {}
    key_end = 1 + len(group_by)
    for row in itertools.chain.from_iterable(conn.execute(query) for query in queries):
        bucket = row[0]
        index = step_of_bucket.get(bucket)
        if index is None:
            index = step_of_bucket[bucket] = (as_utc(bucket) - start) // step
        key = tuple(row[1:key_end])
        counts = row[key_end:]
        total = totals.get((index, key))
        if total is None:
            totals[(index, key)] = list(counts)
            keys.add(key)
        else:
            for position, value in enumerate(counts):
                total[position] += value

    series = []
    step_count = -(-(end - start) // step)
    for index in range(max(step_count, 0)):
        step_start = start + index * step
        for key in sorted(keys):
            total = totals.get((index, key))
            row = CountRow.zero(key) if total is None else CountRow(key, *(int(value) for value in total))
            series.append((step_start, row))
    return series


def bucket_sums(
    table: sa.Table,
    group_by: tuple[str, ...],
    *,
    start: datetime,
    end: datetime,
    tenant: str | None,
    where: Mapping[str, FilterValue] | None,
) -> sa.Select:
    """Return a select of (bucket, group_by values..., count sums...) per bucket and group of `table` in [start, end)."""
    columns = [table.c[name] for name in group_by]
    query = sa.select(table.c.bucket, *columns, *count_sums(table))
    query = filtered(query, start=start, end=end, tenant=tenant, where=where, table=table)
    return query.group_by(table.c.bucket, *columns)


def query_minutes(
    conn: sa.Connection,
    *,
    start: datetime,
    end: datetime,
    group_by: Sequence[str] = DIMENSIONS,
    tenant: str | None = None,
) -> list[tuple[datetime, CountRow]]:
    """Return the per-minute counts in [start, end) per group, only for minutes that have any.

    Replaying rules over a long range reads this once instead of querying
    every window at every evaluation time.
    """
    group_by = tuple(group_by)
    check_dimensions(group_by)
    columns = [rollups.c[name] for name in group_by]
    query = filtered(sa.select(rollups.c.bucket, *columns, *count_sums()), start=start, end=end, tenant=tenant, where=None)
    query = query.group_by(rollups.c.bucket, *columns).order_by(rollups.c.bucket)
    return [
        (as_utc(row.bucket), row_counts(row, tuple(getattr(row, name) for name in group_by)))
        for row in conn.execute(query)
    ]
