"""Bind-value memos of the bulk insert: a remembered value is only reused for an identical input."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from inboxwatch.store.bulk import DateTimeMemo, JsonMemo

SQLITE = sqlite.dialect()


def test_datetime_memo_keeps_zones_apart():
    processor = sa.DateTime(timezone=True).dialect_impl(SQLITE).bind_processor(SQLITE)
    memo = DateTimeMemo(processor)
    utc = datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
    # The same instant one hour east: equal to `utc`, but stored as its own wall-clock time.
    east = utc.astimezone(timezone(timedelta(hours=1)))

    assert memo(utc) == "2026-01-01 10:00:00.000000"
    assert memo(east) == "2026-01-01 11:00:00.000000"
    assert memo(utc) == processor(utc)


def test_json_memo_keeps_value_types_apart():
    memo = JsonMemo(lambda value: repr(value))

    assert memo({"n": 1}) == "{'n': 1}"
    assert memo({"n": True}) == "{'n': True}"
    assert memo({"n": 1.0}) == "{'n': 1.0}"
    assert memo({"hops": ["a", "b"]}) == "{'hops': ['a', 'b']}"
