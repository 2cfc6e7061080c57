from datetime import datetime, timedelta, timezone

import pytest

from inboxwatch.analysis.rates import RATE_NAMES, Rate, rates_for
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.store.events import store_events
from inboxwatch.store.metrics import CountRow, query_counts, query_sent, query_series, sent_volume

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def event(number, event_type, *, minute=0, recipient="user@gmail.com", **fields):
    return DeliveryEvent(
        type=event_type,
        time=T0 + timedelta(minutes=minute, seconds=5),
        source="test",
        event_id="event-%d" % number,
        recipient=recipient,
        sending_ip=fields.pop("sending_ip", "192.0.2.1"),
        **fields,
    )


@pytest.fixture
def filled(engine):
    batch = [
        event(1, EventType.SENT),
        event(2, EventType.SENT),
        event(3, EventType.SENT, recipient="a@outlook.com"),
        event(4, EventType.DELIVERED),
        event(5, EventType.BOUNCED, hard=True, minute=1),
        event(6, EventType.DEFERRED, minute=2, recipient="a@outlook.com"),
        event(7, EventType.DELIVERED, minute=2, recipient="a@outlook.com", sending_ip="192.0.2.2"),
        event(8, EventType.COMPLAINED, minute=70),
        event(9, EventType.DELIVERED, minute=10, tenant="acme"),
    ]
    with engine.begin() as conn:
        store_events(conn, batch, ingest_id=None, now=T0)
    return engine


def counts(*values, key=()):
    return CountRow(key, *values)


def test_query_counts_by_provider(filled):
    with filled.connect() as conn:
        rows = query_counts(conn, start=T0, end=T0 + HOUR)
    by_key = {row.key: row for row in rows}
    assert sorted(by_key) == [("gmail",), ("microsoft",)]
    assert by_key[("gmail",)].sent == 2
    assert by_key[("gmail",)].delivered == 2
    assert by_key[("gmail",)].hard_bounced == 1
    assert by_key[("microsoft",)].deferred == 1
    assert by_key[("gmail",)].complained == 0


def test_query_counts_window_end_excluded(filled):
    with filled.connect() as conn:
        rows = query_counts(conn, start=T0, end=T0 + timedelta(minutes=2), group_by=())
    assert len(rows) == 1
    assert rows[0].bounced == 1
    assert rows[0].deferred == 0


def test_query_counts_tenant_and_where(filled):
    with filled.connect() as conn:
        acme = query_counts(conn, start=T0, end=T0 + HOUR, group_by=("tenant",), tenant="acme")
        second_ip = query_counts(conn, start=T0, end=T0 + HOUR, group_by=("sending_ip",), where={"sending_ip": ["192.0.2.2"]})
    assert [(row.key, row.delivered) for row in acme] == [(("acme",), 1)]
    assert [(row.key, row.delivered) for row in second_ip] == [(("192.0.2.2",), 1)]


def test_query_counts_empty_window_without_grouping(filled):
    with filled.connect() as conn:
        rows = query_counts(conn, start=T0 - HOUR, end=T0, group_by=())
    assert rows == [CountRow.zero(())]


def test_query_counts_zero_length_window(filled):
    with filled.connect() as conn:
        ungrouped = query_counts(conn, start=T0, end=T0, group_by=())
        grouped = query_counts(conn, start=T0, end=T0, group_by=("provider",))
    assert ungrouped == [CountRow.zero(())]
    assert grouped == []


def test_query_counts_unknown_dimension_rejected(filled):
    with filled.connect() as conn, pytest.raises(ValueError, match="recipient"):
        query_counts(conn, start=T0, end=T0 + HOUR, group_by=("recipient",))


def test_query_series_fills_empty_steps(filled):
    with filled.connect() as conn:
        series = query_series(conn, start=T0, end=T0 + timedelta(minutes=6), step=timedelta(minutes=2), group_by=("provider",))
    steps = [(time - T0, row.key, row.delivered + row.bounced + row.deferred) for time, row in series]
    assert steps == [
        (timedelta(0), ("gmail",), 2),
        (timedelta(0), ("microsoft",), 0),
        (timedelta(minutes=2), ("gmail",), 0),
        (timedelta(minutes=2), ("microsoft",), 2),
        (timedelta(minutes=4), ("gmail",), 0),
        (timedelta(minutes=4), ("microsoft",), 0),
    ]


def test_query_series_step_must_be_whole_minutes(filled):
    with filled.connect() as conn, pytest.raises(ValueError, match="whole number of minutes"):
        query_series(conn, start=T0, end=T0 + HOUR, step=timedelta(seconds=90))


def test_query_sent_outcomes_exceed_sends(filled):
    with filled.connect() as conn:
        volumes = query_sent(conn, start=T0, end=T0 + HOUR)
    # gmail: 2 sends but 3 outcomes (2 delivered, 1 bounced), so the outcomes count.
    assert volumes == {("gmail",): 3, ("microsoft",): 1}


def test_sent_volume_outcomes_exceed_sends():
    assert sent_volume(counts(0, 5, 0, 2, 0, 0, 0, 0, 0, 0)) == 7
    assert sent_volume(counts(10, 5, 0, 2, 0, 0, 0, 0, 0, 0)) == 10


def test_rates_for_definitions():
    row = counts(100, 90, 20, 6, 4, 1, 0, 0, 0, 0)
    rates = rates_for(row)
    assert tuple(rates) == RATE_NAMES
    assert (rates["delivery_rate"].numerator, rates["delivery_rate"].denominator) == (90, 100)
    assert (rates["bounce_rate"].numerator, rates["bounce_rate"].denominator) == (6, 100)
    assert (rates["hard_bounce_rate"].numerator, rates["hard_bounce_rate"].denominator) == (4, 100)
    assert (rates["deferral_rate"].numerator, rates["deferral_rate"].denominator) == (20, 116)
    assert (rates["complaint_rate"].numerator, rates["complaint_rate"].denominator) == (1, 90)


def test_rates_for_zero_denominators():
    rates = rates_for(CountRow.zero(("gmail",)))
    for name in RATE_NAMES:
        assert rates[name].denominator == 0, name
        assert rates[name].value is None, name
        assert rates[name].wilson() == (0.0, 1.0), name


def test_rates_for_no_send_events_uses_outcomes():
    rates = rates_for(counts(0, 8, 0, 2, 1, 0, 0, 0, 0, 0))
    assert rates["delivery_rate"].value == pytest.approx(0.8)
    assert rates["bounce_rate"].denominator == 10


@pytest.mark.parametrize(
    ("numerator", "denominator", "lower", "upper"),
    [
        # Reference values from the Wilson formula with z = 1.96.
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (5, 10, 0.2366, 0.7634),
        (1, 1000, 0.000177, 0.005644),
    ],
    ids=["none", "all", "half", "rare"],
)
def test_rate_wilson_bounds(numerator, denominator, lower, upper):
    low, high = Rate("bounce_rate", numerator, denominator).wilson()
    assert low == pytest.approx(lower, abs=1e-4)
    assert high == pytest.approx(upper, abs=1e-4)
    assert 0.0 <= low <= numerator / denominator <= high <= 1.0


def test_rate_wilson_narrows_with_volume():
    small = Rate("bounce_rate", 2, 100).wilson()
    large = Rate("bounce_rate", 200, 10000).wilson()
    assert large[1] - large[0] < small[1] - small[0]
