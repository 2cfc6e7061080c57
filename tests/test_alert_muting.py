"""Silences and inhibition: muted alerts keep their state, carry a mark, and are not notified."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from alerting_support import START, all_alerts, at, breach, clear, cycle, decisions_for, notifications, policy_from
from inboxwatch.alerting.inhibition import CRITICAL_MUTES_WARNING, InhibitStage
from inboxwatch.cli.main import cli
from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.store import silences as silence_store

ROUTE = {"route": {"channels": ["ops"], "group_by": ["..."], "group_wait": "0s", "group_interval": "1m"}}


def add_silence(engine, matchers, start_minute=0, end_minute=60):
    with engine.begin() as conn:
        return silence_store.add_silence(
            conn,
            matchers=matchers,
            starts_at=at(start_minute),
            ends_at=at(end_minute),
            created_by="ana",
            comment="moving traffic off the IP",
            now=at(start_minute),
        )


def test_silence_mutes_until_expired(engine):
    policy = policy_from(ROUTE)
    silence_id = add_silence(engine, ['sending_ip="192.0.2.10"'])

    cycle(engine, 0, [breach(sending_ip="192.0.2.10"), breach(sending_ip="192.0.2.11")], policy)
    muted = {alert.labels["sending_ip"]: alert for alert in all_alerts(engine)}
    with engine.begin() as conn:
        silence_store.expire_silence(conn, silence_id, at(5))
    cycle(engine, 5, [], policy)
    after = {alert.labels["sending_ip"]: alert for alert in all_alerts(engine)}

    # The silenced alert fires like any other, but only the other one is notified at first.
    assert muted["192.0.2.10"].state == AlertState.FIRING
    assert muted["192.0.2.10"].silenced_by == (silence_id,)
    assert muted["192.0.2.11"].silenced_by == ()
    assert after["192.0.2.10"].silenced_by == ()
    assert [reason for _channel, _outbox_reason, reason in notifications(engine)] == ["first notification"] * 2
    history = decisions_for(engine, after["192.0.2.10"].id)
    assert history[0] == ("suppress", "suppressed: silenced by %d" % silence_id)
    assert history[-1] == ("notify", "first notification")


@pytest.mark.parametrize(
    ("send_resolved_after_mute", "expected"),
    [
        # The resolve of an alert notified before its silence is still sent.
        (True, ["first notification", "resolved"]),
        # Without the option it is dropped, and the decision log says so.
        (False, ["first notification"]),
    ],
    ids=["send", "drop"],
)
def test_silence_resolve_after_mute(engine, send_resolved_after_mute, expected):
    policy = policy_from({**ROUTE, "alerting": {"send_resolved_after_mute": send_resolved_after_mute}})

    cycle(engine, 0, [breach(sending_ip="192.0.2.10")], policy)
    add_silence(engine, ['rule="bounce_rate"'], start_minute=1)
    cycle(engine, 1, [], policy)
    cycle(engine, 2, [clear(sending_ip="192.0.2.10")], policy)
    cycle(engine, 3, [], policy)

    (alert,) = all_alerts(engine)
    assert [reason for _channel, _outbox_reason, reason in notifications(engine)] == expected
    if not send_resolved_after_mute:
        assert decisions_for(engine, alert.id)[-1] == ("suppress", "suppressed: resolved while muted")


BLOCKLIST_INHIBITS_BOUNCES = {
    "inhibit_rules": [
        {
            "source_matchers": ['rule="dns_blocklist_listed"'],
            "target_matchers": ['rule=~"bounce_rate|hard_bounce_rate"'],
            "equal": ["tenant", "sending_ip"],
        }
    ]
}


def test_inhibition_blocklist_mutes_bounce_rate_of_same_ip(engine):
    policy = policy_from({**ROUTE, **BLOCKLIST_INHIBITS_BOUNCES})
    listing = breach("dns_blocklist_listed", Severity.CRITICAL, sending_ip="192.0.2.10", list="zen.spamhaus.org")

    cycle(engine, 0, [listing, breach(sending_ip="192.0.2.10"), breach(sending_ip="192.0.2.11")], policy)

    alerts = {(alert.rule, alert.labels["sending_ip"]): alert for alert in all_alerts(engine)}
    source = alerts[("dns_blocklist_listed", "192.0.2.10")]
    assert alerts[("bounce_rate", "192.0.2.10")].inhibited_by == (source.fingerprint,)
    assert alerts[("bounce_rate", "192.0.2.11")].inhibited_by == ()
    notified = [row[0] for row in notifications(engine)]
    # The listing and the other IP's bounce rate are notified; the inhibited alert is not.
    assert len(notified) == 2


def test_inhibition_ends_when_source_resolves(engine):
    policy = policy_from({**ROUTE, **BLOCKLIST_INHIBITS_BOUNCES})
    listing = dict(sending_ip="192.0.2.10", list="zen.spamhaus.org")

    cycle(engine, 0, [breach("dns_blocklist_listed", Severity.CRITICAL, **listing), breach(sending_ip="192.0.2.10")], policy)
    cycle(engine, 1, [clear("dns_blocklist_listed", **listing)], policy)

    bounce = next(alert for alert in all_alerts(engine) if alert.rule == "bounce_rate")
    assert bounce.inhibited_by == ()
    assert decisions_for(engine, bounce.id)[-1] == ("notify", "first notification")


def make_alert(fingerprint: str, severity: Severity, state: AlertState = AlertState.FIRING) -> Alert:
    return Alert(
        id=None,
        fingerprint=fingerprint,
        rule="dmarc_failures",
        tenant="default",
        labels={"tenant": "default", "sending_domain": "example.com"},
        severity=severity,
        state=state,
        pending_since=START,
        last_evaluated_at=START,
    )


@pytest.mark.parametrize(
    ("source_state", "inhibited"),
    [
        # A firing critical mutes the warning with the same rule and labels.
        (AlertState.FIRING, True),
        # A pending critical mutes nothing.
        (AlertState.PENDING, False),
    ],
    ids=["firing-source", "pending-source"],
)
def test_inhibition_default_critical_mutes_warning(source_state, inhibited):
    alerts = [make_alert("critical", Severity.CRITICAL, source_state), make_alert("warning", Severity.WARNING)]

    marks = InhibitStage([CRITICAL_MUTES_WARNING]).marks(alerts, START)

    assert ("warning" in marks) is inhibited
    assert "critical" not in marks


def test_cli_silences_add_list_expire(tmp_path):
    config = tmp_path / "inboxwatch.toml"
    config.write_text('[store]\nurl = "store.db"\n', encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config)]

    added = runner.invoke(
        cli,
        ["silences", "add", 'sending_ip="192.0.2.10"', *base, "--by", "ana", "--comment", "IP warm-up", "--duration", "2h"],
        catch_exceptions=False,
    )
    listed = runner.invoke(cli, ["silences", "list", *base, "--json"], catch_exceptions=False)
    expired = runner.invoke(cli, ["silences", "expire", "1", *base], catch_exceptions=False)
    after = runner.invoke(cli, ["silences", "list", *base], catch_exceptions=False)
    bad = runner.invoke(cli, ["silences", "add", "sending_ip", *base, "--by", "ana", "--comment", "x"])
    missing = runner.invoke(cli, ["silences", "expire", "99", *base])

    assert added.exit_code == 0
    assert added.output.startswith("silence 1 added")
    silence = json.loads(listed.output)
    assert silence["matchers"] == ['sending_ip="192.0.2.10"']
    assert silence["status"] == "active"
    assert silence["created_by"] == "ana"
    assert expired.exit_code == 0
    assert after.output.strip() == "no active or pending silences"
    assert bad.exit_code == 2
    assert "invalid matcher" in bad.output
    assert missing.exit_code == 1
    assert "silence 99 not found" in missing.output


# Each case: when the silence starts, in minutes after 10:00, and whether the
# evaluation of 10:05 (a whole minute, as every evaluation) is muted by it.
SILENCE_STARTS = [
    ("same-minute-10s", 5 + 10 / 60, True),
    ("same-minute-59s", 5 + 59 / 60, True),
    ("on-the-minute", 5, True),
    ("next-minute", 6, False),
    ("next-minute-10s", 6 + 10 / 60, False),
]


@pytest.mark.parametrize(
    ("start_minute", "muted"), [case[1:] for case in SILENCE_STARTS], ids=[case[0] for case in SILENCE_STARTS]
)
def test_silence_mutes_minute_it_starts(engine, start_minute, muted):
    policy = policy_from({"route": {**ROUTE["route"], "repeat_interval": "5m"}})
    cycle(engine, 0, [breach(sending_ip="192.0.2.10")], policy)
    silence_id = add_silence(engine, ['sending_ip="192.0.2.10"'], start_minute=start_minute)
    cycle(engine, 5, [], policy)

    (alert,) = all_alerts(engine)
    reasons = [reason for _channel, _outbox_reason, reason in notifications(engine)]
    assert alert.silenced_by == ((silence_id,) if muted else ())
    assert reasons == (["first notification"] if muted else ["first notification", "repeat"])
