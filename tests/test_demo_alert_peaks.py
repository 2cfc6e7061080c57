"""The demo's alerts table shows each alert's worst value while firing, beside its last value."""

from datetime import datetime, timedelta, timezone

from rich.console import Console

from inboxwatch.alerting.engine import AppliedOutcome
from inboxwatch.alerting.lifecycle import Outcome
from inboxwatch.cli.demo import alerts_table
from inboxwatch.demo.peaks import alert_peaks
from inboxwatch.demo.run import DemoResult
from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.notify.sender import DrainSummary
from inboxwatch.service.evaluate import EvaluationSummary
from inboxwatch.service.ingest import IngestSummary

START = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)
DIRECTIONS = {"bounce_rate": "above", "delivery_rate": "below"}


def alert(alert_id, rule, state, value, numerator, denominator, minute):
    return Alert(
        id=alert_id,
        fingerprint="fp-%d" % alert_id,
        rule=rule,
        tenant="default",
        labels={"tenant": "default", "provider": "microsoft"},
        severity=Severity.CRITICAL,
        state=state,
        pending_since=START,
        last_evaluated_at=START + timedelta(minutes=minute),
        value=value,
        denominator=denominator,
        annotations={"numerator": numerator},
        fired_at=START + timedelta(minutes=5),
        resolved_at=START + timedelta(minutes=minute) if state is AlertState.RESOLVED else None,
    )


def evaluation(minute, *alerts):
    outcomes = tuple(AppliedOutcome(Outcome(item, "updated"), item) for item in alerts)
    return EvaluationSummary(at=START + timedelta(minutes=minute), signals=len(alerts), outcomes=outcomes)


# A bounce-rate alert (higher is worse) and a delivery-rate alert (lower is worse):
# pending at first, worst at minute 20, then resolved with a good value.
SUMMARIES = [
    evaluation(0, alert(1, "bounce_rate", AlertState.PENDING, 0.9, 9, 10, 0), alert(2, "delivery_rate", AlertState.PENDING, 0.0, 0, 10, 0)),
    evaluation(10, alert(1, "bounce_rate", AlertState.FIRING, 0.5, 20, 40, 10), alert(2, "delivery_rate", AlertState.FIRING, 0.5, 20, 40, 10)),
    evaluation(20, alert(1, "bounce_rate", AlertState.FIRING, 0.75, 30, 40, 20), alert(2, "delivery_rate", AlertState.FIRING, 0.25, 10, 40, 20)),
    evaluation(30, alert(1, "bounce_rate", AlertState.FIRING, 0.6, 24, 40, 30), alert(2, "delivery_rate", AlertState.FIRING, 0.4, 16, 40, 30)),
    evaluation(40, alert(1, "bounce_rate", AlertState.RESOLVED, 0.02, 1, 50, 40), alert(2, "delivery_rate", AlertState.RESOLVED, 0.98, 49, 50, 40)),
]


def test_alert_peaks_worst_while_firing():
    peaks = alert_peaks(SUMMARIES, DIRECTIONS)

    assert peaks[1].value == 0.75
    assert (peaks[1].numerator, peaks[1].denominator) == (30, 40)
    assert peaks[1].at == START + timedelta(minutes=20)
    assert peaks[2].value == 0.25
    assert peaks[2].at == START + timedelta(minutes=20)


def test_alert_peaks_skip_rules_without_direction():
    assert alert_peaks(SUMMARIES, {"bounce_rate": "above"}).keys() == {1}


def test_demo_alerts_table_shows_peak_and_last():
    final = [summary.outcomes[0].alert for summary in SUMMARIES[-1:]] + [SUMMARIES[-1].outcomes[1].alert]
    result = DemoResult(
        day=START,
        log_lines=0,
        ingest=IngestSummary(),
        by_provider=[],
        by_ip=[],
        alerts=final,
        notifications=DrainSummary(),
        received=[],
        peaks=alert_peaks(SUMMARIES, DIRECTIONS),
    )
    console = Console(width=200, record=True)

    console.print(alerts_table(result))

    text = console.export_text()
    assert "peak: the worst value while firing" in text
    bounce_line = next(line for line in text.splitlines() if "bounce_rate" in line)
    assert "75.00% (30/40)" in bounce_line
    assert "13:20" in bounce_line
    assert "2.00% (1/50)" in bounce_line
    delivery_line = next(line for line in text.splitlines() if "delivery_rate" in line)
    assert "25.00% (10/40)" in delivery_line
    assert "98.00% (49/50)" in delivery_line
