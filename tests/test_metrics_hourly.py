"""Hourly and 15-minute rollups: they equal the minute rollups, and reads that use them return what minutes alone return.

The reference for every comparison is `query_minutes`, which reads only the
per-minute rollups, folded into windows, groups and steps in Python.
"""

import random
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store.db import as_utc, migrate_schema, open_engine
from inboxwatch.store.events import store_events
from inboxwatch.store.metrics import COUNT_FIELDS, DIMENSIONS, CountRow, query_counts, query_minutes, query_series
from inboxwatch.store.retention import apply_retention
from inboxwatch.store.rollups_quarter_hour import quarter_hour_start
from inboxwatch.store.schema import rollups, rollups_hourly, rollups_quarter_hour

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)

# Events are spread over the five hours from T0.
SPAN_MINUTES = 5 * 60

RECIPIENTS = ("a@gmail.com", "b@outlook.com", "c@yahoo.com", "d@example.org")
SENDING_IPS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
EVENT_TYPES = (
    EventType.SENT, EventType.SENT, EventType.DELIVERED, EventType.DELIVERED, EventType.DEFERRED, EventType.BOUNCED,
    EventType.COMPLAINED, EventType.OPENED,
)

# (group_by, tenant, where) combinations checked for every window.
QUERIES = [
    ((), None, None),
    (("provider",), None, None),
    (("tenant", "sending_ip"), None, None),
    (DIMENSIONS, None, None),
    (("provider",), "acme", None),
    (("sending_ip",), None, {"provider": "gmail"}),
    (("provider",), None, {"sending_ip": ["192.0.2.1", "192.0.2.3"]}),
]


def random_events(rng: random.Random, count: int, first_number: int) -> list[DeliveryEvent]:
    events = []
    for number in range(first_number, first_number + count):
        event_type = rng.choice(EVENT_TYPES)
        events.append(
            DeliveryEvent(
                type=event_type,
                time=T0 + timedelta(seconds=rng.randrange(SPAN_MINUTES * 60)),
                source="test",
                event_id="event-%d" % number,
                recipient=rng.choice(RECIPIENTS),
                sending_ip=rng.choice(SENDING_IPS),
                sending_domain=rng.choice(("mail.example.com", "news.example.com")),
                tenant=rng.choice(("default", "acme")),
                campaign=rng.choice((None, "spring")),
                hard=rng.choice((True, False)) if event_type is EventType.BOUNCED else None,
            )
        )
    return events


@pytest.fixture
def stored(engine):
    """Store 1,200 random events in three batches, then the first batch again (all duplicates)."""
    rng = random.Random(20261204)
    batches = [random_events(rng, 400, number * 400) for number in range(3)]
    for batch in batches + batches[:1]:
        with engine.begin() as conn:
            store_events(conn, batch, ingest_id=None, now=T0)
    return engine


def matches(values: dict[str, str], where) -> bool:
    for name, accepted in (where or {}).items():
        if values[name] not in ([accepted] if isinstance(accepted, str) else accepted):
            return False
    return True


def minute_totals(minutes, start, step, group_by, tenant, where) -> dict[tuple[int, tuple], CountRow]:
    """Sum `query_minutes` rows per (step index, key), the step index being 0 without a step."""
    sums: dict[tuple[int, tuple], list[int]] = {}
    for minute, row in minutes:
        values = dict(zip(DIMENSIONS, row.key))
        if tenant is not None and values["tenant"] != tenant or not matches(values, where):
            continue
        key = tuple(values[name] for name in group_by)
        index = (minute - start) // step if step else 0
        total = sums.setdefault((index, key), [0] * len(COUNT_FIELDS))
        for position, name in enumerate(COUNT_FIELDS):
            total[position] += getattr(row, name)
    return {(index, key): CountRow(key, *total) for (index, key), total in sums.items()}


def expected_counts(minutes, start, group_by, tenant, where) -> list[CountRow]:
    totals = minute_totals(minutes, start, None, group_by, tenant, where)
    if not group_by:
        return [totals.get((0, ()), CountRow.zero(()))]
    return [totals[(0, key)] for key in sorted(key for _, key in totals)]


def expected_series(minutes, start, end, step, group_by, tenant, where) -> list[tuple[datetime, CountRow]]:
    totals = minute_totals(minutes, start, step, group_by, tenant, where)
    keys = sorted({key for _, key in totals} | ({()} if not group_by else set()))
    series = []
    for index in range(-(-(end - start) // step)):
        for key in keys:
            series.append((start + index * step, totals.get((index, key), CountRow.zero(key))))
    return series


def check_window(conn, start, end, step) -> None:
    minutes = query_minutes(conn, start=start, end=end, group_by=DIMENSIONS)
    for group_by, tenant, where in QUERIES:
        case = "window [%s, %s) step %s, group_by %s, tenant %s, where %s" % (start, end, step, group_by, tenant, where)
        counts = query_counts(conn, start=start, end=end, group_by=group_by, tenant=tenant, where=where)
        assert counts == expected_counts(minutes, start, group_by, tenant, where), case
        series = query_series(conn, start=start, end=end, step=step, group_by=group_by, tenant=tenant, where=where)
        assert series == expected_series(minutes, start, end, step, group_by, tenant, where), case


# (start, end, step) in minutes from T0 (09:00). The comment on each case names the rollups it reads.
WINDOWS = [
    pytest.param(0, 180, 60, id="whole-hours-hourly-step"),  # hours only
    pytest.param(0, 217, 60, id="aligned-start-minute-tail"),  # hours, quarter hours 12:00-12:30, minutes to 12:37
    pytest.param(0, 217, 120, id="two-hour-steps-partial-last"),  # the same, with a short last step
    pytest.param(-60, 420, 180, id="window-wider-than-data"),  # empty hours on both sides
    pytest.param(13, 281, 60, id="unaligned-start-hourly-step"),  # series: minutes only, because hours straddle steps
    pytest.param(13, 281, 15, id="unaligned-quarter-hours"),  # counts: minutes, quarter hours, hours, quarter hours, minutes
    pytest.param(0, 180, 15, id="aligned-quarter-hours"),  # series: quarter hours, counts: hours
    pytest.param(15, 217, 15, id="quarter-start-quarter-step"),  # series: quarter hours, then minutes after 12:30
    pytest.param(45, 250, 30, id="quarter-start-half-hour-steps"),  # series: quarter hours, a short last step
    pytest.param(30, 200, 60, id="quarter-start-hourly-step"),  # series: quarter hours, because hours straddle steps
    pytest.param(60, 120, 60, id="exactly-one-hour"),  # one hourly row per group
    pytest.param(75, 90, 15, id="exactly-one-quarter-hour"),  # one 15-minute row per group
    pytest.param(65, 110, 5, id="inside-one-hour"),  # series: minutes, counts: minutes around 10:15-10:45
    pytest.param(59, 61, 1, id="across-an-hour-boundary"),  # minutes only
]


@pytest.mark.parametrize(("start", "end", "step"), WINDOWS)
def test_hourly_reads_equal_minute_reads(stored, start, end, step):
    with stored.connect() as conn:
        check_window(conn, T0 + start * MINUTE, T0 + end * MINUTE, step * MINUTE)


def test_hourly_reads_equal_minute_reads_random_windows(stored):
    rng = random.Random(7)
    with stored.connect() as conn:
        for _ in range(40):
            start = rng.randrange(-90, SPAN_MINUTES)
            # A third of the windows start on an hour and a third on a
            # quarter hour, so that series take the hourly and 15-minute paths.
            alignment = rng.choice((1, 15, 60))
            start -= start % alignment
            end = start + rng.randrange(1, 8 * 60)
            step = rng.choice((7, 15, 30, 45, 60, 120, 180))
            check_window(conn, T0 + start * MINUTE, T0 + end * MINUTE, step * MINUTE)


def hour_start(bucket: datetime) -> datetime:
    return bucket.replace(minute=0)


def table_sums(conn, table, truncate=hour_start) -> dict[tuple, tuple[int, ...]]:
    """Sum a rollup table's counters per hour (or per `truncate` of the bucket) and dimensions."""
    sums: dict[tuple, list[int]] = {}
    for row in conn.execute(sa.select(table.c.bucket, *(table.c[name] for name in DIMENSIONS + COUNT_FIELDS))):
        group = (truncate(as_utc(row[0])),) + tuple(row[1 : 1 + len(DIMENSIONS)])
        total = sums.setdefault(group, [0] * len(COUNT_FIELDS))
        for position, value in enumerate(row[1 + len(DIMENSIONS) :]):
            total[position] += value
    return {group: tuple(total) for group, total in sums.items()}


def test_hourly_rollups_equal_minute_sums(stored):
    with stored.connect() as conn:
        hourly = table_sums(conn, rollups_hourly)
        minutes = table_sums(conn, rollups)
        hourly_rows = conn.execute(sa.select(sa.func.count()).select_from(rollups_hourly)).scalar_one()
    assert hourly == minutes
    assert hourly_rows == len(hourly)


def test_quarter_hour_rollups_equal_minute_sums(stored):
    with stored.connect() as conn:
        quarters = table_sums(conn, rollups_quarter_hour, quarter_hour_start)
        minutes = table_sums(conn, rollups, quarter_hour_start)
        quarter_rows = conn.execute(sa.select(sa.func.count()).select_from(rollups_quarter_hour)).scalar_one()
        buckets = conn.execute(sa.select(rollups_quarter_hour.c.bucket).distinct()).scalars().all()
    assert quarters == minutes
    assert quarter_rows == len(quarters)
    assert {as_utc(bucket).minute for bucket in buckets} == {0, 15, 30, 45}


def test_coarse_rollups_kept_by_retention(stored):
    with stored.begin() as conn:
        hourly_before = table_sums(conn, rollups_hourly)
        quarters_before = table_sums(conn, rollups_quarter_hour, quarter_hour_start)
        result = apply_retention(conn, now=T0 + timedelta(days=30), event_days=1)
        hourly_after = table_sums(conn, rollups_hourly)
        quarters_after = table_sums(conn, rollups_quarter_hour, quarter_hour_start)
    assert result.events_deleted == 1200
    assert hourly_after == hourly_before
    assert quarters_after == quarters_before


def minute_rows_for_backfill() -> list[dict]:
    """Return minute rollup rows over three hours (every 7th minute, two providers) and one more two days later."""
    rng = random.Random(3)
    rows = []
    for minute in range(0, 3 * 60, 7):
        for provider in ("gmail", "yahoo"):
            counts = {name: rng.randrange(20) for name in COUNT_FIELDS}
            rows.append(
                {"bucket": T0 + minute * MINUTE, "tenant": "default", "provider": provider, "sending_ip": "192.0.2.1",
                 "sending_domain": "", "campaign": "", **counts}
            )
    # A second day, so the backfill reads more than one span of minutes.
    rows.append({**rows[0], "bucket": T0 + timedelta(days=2, minutes=30)})
    return rows


def test_hourly_migration_backfills_minute_rollups(store_url):
    engine = open_engine(store_url, migrate=False)
    migrate_schema(engine, "0009_leases")
    rows = minute_rows_for_backfill()
    with engine.begin() as conn:
        conn.execute(sa.insert(rollups), rows)
    migrate_schema(engine, "head")
    with engine.connect() as conn:
        hourly = table_sums(conn, rollups_hourly)
        minutes = table_sums(conn, rollups)
        hourly_rows = conn.execute(sa.select(sa.func.count()).select_from(rollups_hourly)).scalar_one()
    engine.dispose()
    assert hourly == minutes
    assert hourly_rows == 3 * 2 + 1


def test_quarter_hour_migration_backfills_minute_rollups(store_url):
    engine = open_engine(store_url, migrate=False)
    migrate_schema(engine, "0010_rollups_hourly")
    with engine.begin() as conn:
        conn.execute(sa.insert(rollups), minute_rows_for_backfill())
    migrate_schema(engine, "head")
    with engine.connect() as conn:
        quarters = table_sums(conn, rollups_quarter_hour, quarter_hour_start)
        minutes = table_sums(conn, rollups, quarter_hour_start)
        quarter_rows = conn.execute(sa.select(sa.func.count()).select_from(rollups_quarter_hour)).scalar_one()
    engine.dispose()
    assert quarters == minutes
    # Every quarter hour of the three hours has a row for both providers.
    assert quarter_rows == 3 * 4 * 2 + 1


def test_whole_hours_read_from_hourly_rollups(stored):
    # With the minute rows of 10:00 to 12:00 deleted, only reads that take
    # those hours from the hourly rollups still count their events.
    first, last = T0 + HOUR, T0 + 3 * HOUR
    with stored.begin() as conn:
        before = query_counts(conn, start=T0, end=T0 + 5 * HOUR, group_by=())[0]
        deleted = conn.execute(sa.delete(rollups).where(rollups.c.bucket >= first, rollups.c.bucket < last)).rowcount
        counts = query_counts(conn, start=T0 + 30 * MINUTE, end=T0 + 5 * HOUR, group_by=())[0]
        edge = query_counts(conn, start=T0, end=T0 + 30 * MINUTE, group_by=())[0]
        series = query_series(conn, start=T0, end=T0 + 5 * HOUR, step=HOUR, group_by=())
        # 10-minute steps do not fit whole quarter hours, so they read minutes.
        minute_series = query_series(conn, start=T0, end=T0 + 5 * HOUR, step=10 * MINUTE, group_by=())
    assert deleted > 0
    assert counts + edge == before
    assert sum((row for _, row in series), CountRow.zero(())) == before
    assert minute_series[6][1] == CountRow.zero(())


def test_whole_quarter_hours_read_from_quarter_hour_rollups(stored):
    # With the minute rows of 10:00 to 12:00 deleted, only reads that take
    # those quarter hours from the 15-minute rollups still count their events.
    first, last = T0 + HOUR, T0 + 3 * HOUR
    with stored.begin() as conn:
        before = query_series(conn, start=T0, end=T0 + 5 * HOUR, step=15 * MINUTE, group_by=("provider",))
        deleted = conn.execute(sa.delete(rollups).where(rollups.c.bucket >= first, rollups.c.bucket < last)).rowcount
        quarters = query_series(conn, start=T0, end=T0 + 5 * HOUR, step=15 * MINUTE, group_by=("provider",))
        half_hours = query_series(conn, start=T0 + 15 * MINUTE, end=T0 + 5 * HOUR, step=30 * MINUTE, group_by=())
        minutes = query_series(conn, start=T0 + 5 * MINUTE, end=T0 + 5 * HOUR, step=15 * MINUTE, group_by=())
    assert deleted > 0
    assert quarters == before
    after_first_quarter = sum((row for time, row in before if time >= T0 + 15 * MINUTE), CountRow.zero(()))
    assert sum((row for _, row in half_hours), CountRow.zero(())) == after_first_quarter
    # A window starting at 09:05 is off the quarter-hour grid, so it reads minutes.
    assert minutes[4][1] == CountRow.zero(())
