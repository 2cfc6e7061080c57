"""Helpers for alerting tests: signals, one stored cycle at a time, and what the outbox holds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from inboxwatch.alerting.cycle import Policy
from inboxwatch.alerting.engine import apply_signals
from inboxwatch.config.models import Config
from inboxwatch.model.alerts import AlertState, Severity, Signal
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.store import alerts as alert_store
from inboxwatch.store import notification_log as log_store
from inboxwatch.store.schema import outbox

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)  # a Monday
MINUTE = timedelta(minutes=1)
CHANNELS = [{"name": name, "type": "webhook", "url": "http://127.0.0.1:9/%s" % name} for name in ("ops", "chat", "pager", "sms")]


def at(minute: float) -> datetime:
    return START + timedelta(minutes=minute)


def breach(rule: str = "bounce_rate", severity: Severity = Severity.WARNING, **labels: str) -> Signal:
    """A breached signal of `rule`; its `for` is 0 so the alert fires at once."""
    return Signal(
        rule=rule,
        severity=severity,
        labels={"tenant": "default", **labels},
        breached=True,
        time=START,
        summary="%s %s breached" % (rule, " ".join(labels.values())),
    )


def clear(rule: str = "bounce_rate", **labels: str) -> Signal:
    return Signal(rule=rule, severity=Severity.INFO, labels={"tenant": "default", **labels}, breached=False, time=START)


def policy_from(settings: dict, *, notify: bool = True) -> Policy:
    return alert_policy(Config.model_validate({"channels": CHANNELS, **settings}), notify=notify)


def cycle(engine: sa.Engine, minute: float, signals=(), policy: Policy | None = None):
    with engine.begin() as conn:
        return apply_signals(conn, list(signals), now=at(minute), policy=policy)


def outbox_rows(engine: sa.Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).mappings().all()
    return [dict(row) for row in rows]


def notifications(engine: sa.Engine) -> list[tuple[str, str, str]]:
    """Return (channel, outbox reason, decision reason) of every outbox row, oldest first."""
    return [(row["channel"], row["reason"], row["payload"].get("decision_reason", "")) for row in outbox_rows(engine)]


def all_alerts(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return list(reversed(alert_store.list_alerts(conn, states=list(AlertState))))


def decisions_for(engine: sa.Engine, alert_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(entry["action"], entry["reason"]) for entry in log_store.decisions_for_alert(conn, alert_id)]
