"""End to end on a temporary SQLite file: events stored, rules replayed in event time, alerts and outbox."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.config import load_config
from inboxwatch.model.alerts import AlertState
from inboxwatch.model.events import DeliveryEvent, EventType
from inboxwatch.service.evaluate import CURSOR_NAME, catch_up, evaluate_range, run_evaluation
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.cursors import get_cursor
from inboxwatch.store.db import open_engine
from inboxwatch.store.events import store_events
from inboxwatch.store.schema import outbox

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)

# 40 messages a minute to Microsoft; 6 of them (15%) bounce during the first
# 20 minutes, none afterwards.
MESSAGES_PER_MINUTE = 40
BOUNCES_PER_BAD_MINUTE = 6
BAD_MINUTES = 20
TOTAL_MINUTES = 30
# Every alert has resolved by 10:25, so replays stop at 10:26.
REPLAY_END = START + 26 * MINUTE

CONFIG = """
[store]
url = "store.db"

[[channels]]
name = "ops"
type = "webhook"
url = "http://127.0.0.1:9/inboxwatch"
"""


def minute_events(minute: int) -> list[DeliveryEvent]:
    at = START + minute * MINUTE
    bounces = BOUNCES_PER_BAD_MINUTE if minute < BAD_MINUTES else 0
    events = []
    for index in range(MESSAGES_PER_MINUTE):
        common = {
            "time": at + timedelta(seconds=index),
            "source": "test",
            "recipient": "user%d@outlook.com" % index,
            "provider": "microsoft",
            "sending_ip": "192.0.2.10",
        }
        events.append(DeliveryEvent(type=EventType.SENT, event_id="s-%d-%d" % (minute, index), **common))
        if index < bounces:
            events.append(DeliveryEvent(type=EventType.BOUNCED, event_id="b-%d-%d" % (minute, index), hard=True, **common))
        else:
            events.append(DeliveryEvent(type=EventType.DELIVERED, event_id="d-%d-%d" % (minute, index), **common))
    return events


@pytest.fixture(scope="module")
def template_store(tmp_path_factory):
    """Store the events once per module; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    engine = open_engine("sqlite:///%s" % path)
    with engine.begin() as conn:
        for minute in range(TOTAL_MINUTES):
            store_events(conn, minute_events(minute), ingest_id=None)
    # Disposing closes the last connection, which folds the WAL into the file.
    engine.dispose()
    return path


@pytest.fixture
def config_path(tmp_path, template_store):
    shutil.copyfile(template_store, tmp_path / "store.db")
    path = tmp_path / "inboxwatch.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def config(config_path):
    return load_config(config_path)


@pytest.fixture
def engine(config):
    engine = open_engine(config.store.url)
    yield engine
    engine.dispose()


def alerts_by_rule(engine):
    with engine.connect() as conn:
        return {alert.rule: alert for alert in alert_store.list_alerts(conn, states=list(AlertState))}


def test_evaluate_range_replays_incident(engine, config):
    summaries = evaluate_range(engine, config, START, REPLAY_END)

    alerts = alerts_by_rule(engine)
    # The complaint rule never reaches its volume of 1000 delivered messages.
    assert set(alerts) == {"delivery_rate", "bounce_rate", "hard_bounce_rate"}
    bounce = alerts["bounce_rate"]
    # 10:03 is the first window with 100 messages; `for` is 5 minutes.
    assert bounce.pending_since == START + 3 * MINUTE
    assert bounce.fired_at == START + 8 * MINUTE
    # At 10:24 the window 10:19-10:24 holds 6 bounces of 200 (3%), not above Microsoft's 3%.
    assert bounce.resolved_at == START + 24 * MINUTE
    assert bounce.severity.value == "critical"
    assert bounce.labels == {"tenant": "default", "provider": "microsoft"}
    # The hard bounce rate stays above 2% at 10:24 and clears a minute later.
    assert alerts["hard_bounce_rate"].resolved_at == START + 25 * MINUTE
    assert len(summaries) == 27
    assert sum(len(summary.alerts("fired")) for summary in summaries) == 3


def test_evaluate_range_writes_outbox(engine, config):
    evaluate_range(engine, config, START, REPLAY_END)

    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.channel, outbox.c.reason, outbox.c.payload)).all()
    assert sorted((row.reason, row.payload["rule"]) for row in rows) == [
        ("firing", "bounce_rate"),
        ("firing", "delivery_rate"),
        ("firing", "hard_bounce_rate"),
        ("resolved", "bounce_rate"),
        ("resolved", "delivery_rate"),
        ("resolved", "hard_bounce_rate"),
    ]
    assert {row.channel for row in rows} == {"ops"}


def test_evaluate_range_without_notifications(engine, config):
    evaluate_range(engine, config, START, REPLAY_END, notify=False)

    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
    assert count == 0
    assert alerts_by_rule(engine)["bounce_rate"].state == AlertState.RESOLVED


def test_evaluation_twice_at_same_time_changes_nothing(engine, config):
    evaluate_range(engine, config, START, START + 10 * MINUTE)
    again = run_evaluation(engine, config, START + 10 * MINUTE)

    assert again.notifications == 0
    assert again.alerts("fired") == []


def test_evaluation_cursor_and_catch_up(engine, config):
    run_evaluation(engine, config, START + 5 * MINUTE + timedelta(seconds=42))
    with engine.connect() as conn:
        assert get_cursor(conn, CURSOR_NAME) == START + 5 * MINUTE

    summaries = catch_up(engine, config, START + 12 * MINUTE)

    assert [summary.at for summary in summaries] == [START + minute * MINUTE for minute in range(6, 13)]
    assert alerts_by_rule(engine)["bounce_rate"].state == AlertState.FIRING


def test_cli_evaluate_and_alerts(config_path):
    runner = CliRunner()
    base = ["--config", str(config_path)]

    replay = runner.invoke(
        cli, ["evaluate", *base, "--from", "2026-03-02T10:00", "--to", "2026-03-02T10:10"], catch_exceptions=False
    )
    assert replay.exit_code == 0
    assert "fired" in replay.output
    assert "Microsoft bounce rate 15% (30/200) over 5m above 8% critical" in replay.output
    assert "11 evaluations: 3 fired, 0 resolved, 3 notifications queued" in replay.output

    listed = runner.invoke(cli, ["alerts", "list", *base, "--json"], catch_exceptions=False)
    alerts = [json.loads(line) for line in listed.output.splitlines()]
    assert {alert["state"] for alert in alerts} == {"firing"}
    bounce_id = next(alert["id"] for alert in alerts if alert["rule"] == "bounce_rate")

    ack = runner.invoke(cli, ["alerts", "ack", str(bounce_id), *base, "--by", "ana", "--note", "on it"])
    assert ack.exit_code == 0
    again = runner.invoke(cli, ["alerts", "ack", str(bounce_id), *base, "--by", "ana"])
    assert again.exit_code == 1
    assert "only a firing alert can be acknowledged" in again.output

    shown_alert = runner.invoke(cli, ["alerts", "show", str(bounce_id), *base, "--json"], catch_exceptions=False)
    assert json.loads(shown_alert.output)["acknowledged_by"] == "ana"

    history = runner.invoke(cli, ["alerts", "history", str(bounce_id), *base], catch_exceptions=False)
    lines = history.output.splitlines()
    # pending, firing, the group_wait decision, the first notification a minute later, the acknowledgement.
    assert len(lines) == 5
    assert "wait: within group_wait" in lines[2]
    assert "notify: first notification via ops (route default)" in lines[3]
    assert "firing -> acknowledged by ana  on it" in lines[-1]

    resolved = runner.invoke(cli, ["alerts", "resolve", str(bounce_id), *base, "--by", "ana"])
    assert resolved.exit_code == 0
    missing = runner.invoke(cli, ["alerts", "show", "999", *base])
    assert missing.exit_code == 1
    assert "alert 999 not found" in missing.output


def test_cli_evaluate_rejects_half_range(config_path):
    result = CliRunner().invoke(cli, ["evaluate", "--config", str(config_path), "--from", "2026-03-02T10:00"])

    assert result.exit_code == 2
    assert "--from and --to go together" in result.output


def test_cli_init_writes_and_refuses_overwrite(tmp_path):
    target = tmp_path / "new.toml"
    runner = CliRunner()

    first = runner.invoke(cli, ["init", str(target)])
    second = runner.invoke(cli, ["init", str(target)])
    forced = runner.invoke(cli, ["init", str(target), "--force"])

    assert first.exit_code == 0
    assert load_config(target).tenant == "default"
    assert second.exit_code == 1
    assert "already exists" in second.output
    assert forced.exit_code == 0


def test_replay_of_earlier_time_keeps_cursor(engine, config):
    run_evaluation(engine, config, START + 10 * MINUTE)
    run_evaluation(engine, config, START + 5 * MINUTE)

    with engine.connect() as conn:
        assert get_cursor(conn, CURSOR_NAME) == START + 10 * MINUTE
    assert alerts_by_rule(engine)["bounce_rate"].pending_since == START + 10 * MINUTE


def test_quiet_window_keeps_alert_state(engine, config):
    evaluate_range(engine, config, START, START + 12 * MINUTE)
    # Traffic stops at 10:30, so the window before 11:00 has no volume at all.
    quiet = run_evaluation(engine, config, START + 60 * MINUTE)

    assert quiet.signals == 0
    assert alerts_by_rule(engine)["bounce_rate"].state == AlertState.FIRING


def test_rule_grouped_by_sending_ip(config_path):
    config_path.write_text(
        CONFIG + '\n[rules.bounce_rate]\ngroup_by = ["provider", "sending_ip"]\n', encoding="utf-8"
    )
    config = load_config(config_path)
    engine = open_engine(config.store.url)
    try:
        evaluate_range(engine, config, START, START + 8 * MINUTE, notify=False)
        bounce = alerts_by_rule(engine)["bounce_rate"]
    finally:
        engine.dispose()

    assert bounce.labels == {"tenant": "default", "provider": "microsoft", "sending_ip": "192.0.2.10"}
    assert bounce.summary.startswith("Microsoft 192.0.2.10 bounce rate 15%")
