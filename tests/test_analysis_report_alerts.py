"""Report analysis: known senders, source verdicts, new sources, missing reports and TLS failure rates."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from inboxwatch.analysis.dmarc import DailyDmarc, latest_complete_day, missing_reports_signal
from inboxwatch.analysis.dmarc_sources import DMARC_NEW_SOURCE_RULE, clear_resolved, judge_source, new_source_signals
from inboxwatch.analysis.senders import KnownSenders, SenderIdentity
from inboxwatch.analysis.tlsrpt import DailyTls, daily_sessions, latest_complete_tls_day, tls_failure_signal
from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.store.report_history import TlsTotals
from inboxwatch.store.reports import SourceSummary

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
WINDOW_START = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
KNOWN = SenderIdentity(True, "known_senders 192.0.2.0/24")
UNKNOWN = SenderIdentity(False)


def source(ip: str, messages: int, passing: int) -> SourceSummary:
    return SourceSummary(ip, messages, passing, passing, 0, quarantined=0, rejected=0, reporters=1)


def test_known_senders_match_network():
    senders = KnownSenders(["192.0.2.0/24", "2001:db8::/32"])
    assert senders.identify("192.0.2.77").known is True
    assert senders.identify("192.0.2.77").matched_by == "known_senders 192.0.2.0/24"
    assert senders.identify("2001:db8::1").known is True
    assert senders.identify("198.51.100.1").known is False


def test_known_senders_match_spf_check():
    senders = KnownSenders([], {"_spf.esp.example": lambda ip: ip == "203.0.113.9"})
    identity = senders.identify("203.0.113.9", reverse_name="o1.esp.example")
    assert identity.known is True
    assert identity.matched_by == "SPF _spf.esp.example"
    assert identity.reverse_name == "o1.esp.example"


def test_known_senders_invalid_ip_unknown():
    assert KnownSenders(["0.0.0.0/0"]).identify("not-an-ip").known is False


@pytest.mark.parametrize(
    ("identity", "messages", "passing", "code"),
    [
        pytest.param(KNOWN, 100, 100, "ok", id="known-passing"),
        pytest.param(KNOWN, 100, 0, "ours-failing", id="known-failing"),
        pytest.param(KNOWN, 100, 60, "ours-partly-failing", id="known-partly"),
        pytest.param(UNKNOWN, 100, 100, "unlisted-passing", id="unknown-passing"),
        pytest.param(UNKNOWN, 100, 0, "spoofing", id="unknown-failing"),
        pytest.param(UNKNOWN, 100, 40, "unknown-partly-failing", id="unknown-partly"),
    ],
)
def test_judge_source_verdicts(identity, messages, passing, code):
    assert judge_source(source("192.0.2.1", messages, passing), identity).code == code


def test_new_source_signal_for_failing_new_ip():
    sources = [source("198.51.100.7", 80, 0), source("192.0.2.1", 500, 0)]
    first_seen = {"198.51.100.7": NOW, "192.0.2.1": datetime(2026, 11, 1, tzinfo=timezone.utc)}

    signals = new_source_signals(
        "sender.example", sources, first_seen, window_start=WINDOW_START,
        identify=lambda ip: UNKNOWN, min_failing=50, time=NOW,
    )

    (signal,) = signals
    assert signal.rule == DMARC_NEW_SOURCE_RULE
    assert signal.breached is True
    assert signal.labels == {"tenant": "default", "domain": "sender.example", "source_ip": "198.51.100.7"}
    assert signal.value == 80
    assert signal.annotations["sender"] == "unknown"
    assert "new source 198.51.100.7 (unknown sender) sent 80 messages failing DMARC" in signal.summary


def test_new_source_signal_none_under_min_failing():
    signals = new_source_signals(
        "sender.example", [source("198.51.100.7", 80, 31)], {"198.51.100.7": NOW}, window_start=WINDOW_START,
        identify=lambda ip: UNKNOWN, min_failing=50, time=NOW,
    )
    assert signals == []


def test_clear_resolved_only_unrenewed_alerts():
    def alert(ip: str, rule: str = DMARC_NEW_SOURCE_RULE) -> Alert:
        labels = {"tenant": "default", "domain": "sender.example", "source_ip": ip}
        return Alert(None, "f-" + ip, rule, "default", labels, Severity.WARNING, AlertState.FIRING, NOW, NOW, summary="x")

    renewed = new_source_signals(
        "sender.example", [source("198.51.100.7", 80, 0)], {"198.51.100.7": NOW}, window_start=WINDOW_START,
        identify=lambda ip: UNKNOWN, min_failing=50, time=NOW,
    )
    open_alerts = [alert("198.51.100.7"), alert("198.51.100.8"), alert("198.51.100.9", rule="dmarc_pass_rate")]

    clears = clear_resolved(open_alerts, DMARC_NEW_SOURCE_RULE, renewed, {"tenant": "default"}, NOW)

    assert [signal.labels["source_ip"] for signal in clears] == ["198.51.100.8"]
    assert clears[0].breached is False


def test_latest_complete_day_skips_today():
    days = [DailyDmarc(date(2026, 12, 2), 10, 10), DailyDmarc(date(2026, 12, 3), 20, 10), DailyDmarc(date(2026, 12, 4), 5, 5)]
    assert latest_complete_day(days, date(2026, 12, 4)).day == date(2026, 12, 3)
    assert latest_complete_day(days[:1], date(2026, 12, 10)) is None


@pytest.mark.parametrize(
    ("last_day", "breached"),
    [
        pytest.param(date(2026, 12, 3), False, id="yesterday"),
        pytest.param(date(2026, 12, 1), False, id="three-days"),
        pytest.param(date(2026, 11, 30), True, id="four-days"),
    ],
)
def test_missing_reports_signal_after_silence(last_day, breached):
    history = {date(2026, 11, day) for day in range(1, 15)} | {last_day}
    signal = missing_reports_signal(
        "sender.example", history, today=date(2026, 12, 4), missing_after_days=3, min_history_days=7, time=NOW
    )
    assert signal is not None
    assert signal.breached is breached


def test_missing_reports_signal_none_with_short_history():
    history = {date(2026, 11, 1), date(2026, 11, 2)}
    signal = missing_reports_signal(
        "sender.example", history, today=date(2026, 12, 4), missing_after_days=3, min_history_days=7, time=NOW
    )
    assert signal is None


def test_daily_sessions_spread_report():
    # 2026-12-02 12:00 to 2026-12-03 12:00 UTC: half of each count on each day.
    report = TlsTotals(begin=1796212800, end=1796299200, successful=100, failed=20)
    days = daily_sessions([report])
    assert [day.day for day in days] == [date(2026, 12, 2), date(2026, 12, 3)]
    assert [day.failed for day in days] == pytest.approx([10, 10])
    assert latest_complete_tls_day(days, date(2026, 12, 4)).day == date(2026, 12, 3)


def test_tls_failure_signal_over_threshold():
    signal = tls_failure_signal("sender.example", DailyTls(date(2026, 12, 3), 900, 100), threshold=0.05, min_sessions=100, time=NOW)
    assert signal is not None
    assert signal.breached is True
    assert signal.value == pytest.approx(0.1)
    assert "10.0% of 1000 TLS sessions failed on 2026-12-03" in signal.summary


def test_tls_failure_signal_none_under_min_sessions():
    day = DailyTls(date(2026, 12, 3), 50, 49)
    assert tls_failure_signal("sender.example", day, threshold=0.05, min_sessions=100, time=NOW) is None
