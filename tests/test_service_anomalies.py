"""The anomaly step of an evaluation, over rollups stored in a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from inboxwatch.analysis.anomaly.parameters import AnomalyParameters
from inboxwatch.config.loader import validate_config
from inboxwatch.service.anomalies import anomaly_signals, parameters_from
from inboxwatch.store.schema import rollups, rollups_hourly, rollups_quarter_hour

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
HOURS = 16 * 24


def insert_rollups(conn, rows: list[dict]) -> None:
    # Every bucket here is on the hour, so the same rows are also the 15-minute and hourly rollups.
    conn.execute(rollups.insert(), rows)
    conn.execute(rollups_quarter_hour.insert(), rows)
    conn.execute(rollups_hourly.insert(), rows)


def rollup(hour: int, provider: str, sent: int, bounced: int) -> dict:
    return {
        "bucket": START + timedelta(hours=hour),
        "tenant": "default",
        "provider": provider,
        "sending_ip": "203.0.113.10",
        "sending_domain": "shop.example",
        "campaign": "",
        "sent": sent,
        "delivered": sent - bounced,
        "deferred": 0,
        "bounced": bounced,
        "hard_bounced": bounced,
        "complained": 0,
        "opened": 0,
        "clicked": 0,
        "unsubscribed": 0,
        "dropped": 0,
    }


def seed(engine, spike_hours: int) -> datetime:
    rows = []
    for hour in range(HOURS + spike_hours):
        spike = hour >= HOURS
        rows.append(rollup(hour, "gmail", 1000, 90 if spike else 10 + hour % 3))
        rows.append(rollup(hour, "microsoft", 800, 12 + hour % 2))
    with engine.begin() as conn:
        insert_rollups(conn, rows)
    return START + timedelta(hours=HOURS + spike_hours + 1, minutes=7)


def test_anomaly_step_flags_bounce_spike(engine):
    at = seed(engine, spike_hours=3)
    settings = validate_config({}, source="test").anomaly
    with engine.begin() as conn:
        signals = anomaly_signals(conn, settings, at)
    by_key = {(signal.rule, signal.labels["provider"]): signal for signal in signals}
    spike = by_key[("anomaly_bounce_rate", "gmail")]
    assert spike.breached
    assert spike.labels == {"tenant": "default", "provider": "gmail"}
    assert spike.annotations["expected"] < 0.02
    assert spike.annotations["observed"] > 0.03
    assert spike.time == at.replace(minute=0)
    assert not by_key[("anomaly_bounce_rate", "microsoft")].breached


def test_anomaly_step_runs_once_per_hour(engine):
    at = seed(engine, spike_hours=3)
    settings = validate_config({}, source="test").anomaly
    with engine.begin() as conn:
        first = anomaly_signals(conn, settings, at)
    with engine.begin() as conn:
        again = anomaly_signals(conn, settings, at + timedelta(minutes=20))
    assert first
    assert again == []


def test_anomaly_step_disabled_returns_nothing(engine):
    at = seed(engine, spike_hours=3)
    settings = validate_config({"anomaly": {"enabled": False}}, source="test").anomaly
    with engine.begin() as conn:
        assert anomaly_signals(conn, settings, at) == []


def test_anomaly_step_short_history_judges_nothing(engine):
    with engine.begin() as conn:
        insert_rollups(conn, [rollup(hour, "gmail", 1000, 10) for hour in range(30)])
        signals = anomaly_signals(conn, validate_config({}, source="test").anomaly, START + timedelta(hours=31))
    assert signals == []


def test_anomaly_settings_defaults_match_parameters():
    assert parameters_from(validate_config({}, source="test").anomaly) == AnomalyParameters()
