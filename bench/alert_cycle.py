"""Measure one alerting cycle: 10,000 alert series judged against 20 rules, routed, grouped and stored.

Usage: python bench/alert_cycle.py [SERIES] [BREACHED_SHARE] [CYCLES]
Default: 10000 series, 20% of them breached, median of 5 cycles.
The garbage collector runs with the thresholds the `inboxwatch` command
sets (`cli.main.GC_THRESHOLDS`), as in the service; set
INBOXWATCH_BENCH_DEFAULT_GC=1 to keep Python's defaults instead.

Each cycle builds the series' rates in memory and judges them with 20
threshold rules (500 series per rule, labelled by tenant, provider and
sending IP). Then the alert engine runs in one SQLite transaction on a
temporary file: lifecycle, inhibition, silences, routing tree, grouping,
decision log, outbox and notification log. The first cycle opens and fires
the alerts (inserts). The measured cycles that follow are the steady state,
in which every open alert is loaded and walked. Breached series and their
rates are the same each cycle, so the measured cycles send no new
notifications and rewrite no alert: they only move `last_evaluated_at`.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

from inboxwatch.alerting.engine import apply_signals
from inboxwatch.analysis.rates import Rate
from inboxwatch.analysis.rules import Levels, ThresholdRule, judge
from inboxwatch.config.models import Config
from inboxwatch.service.alert_policy import alert_policy
from inboxwatch.store import silences as silence_store
from inboxwatch.store.db import open_engine

RULES = 20
PROVIDERS = ("gmail", "microsoft", "yahoo", "apple", "other")
START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)

CONFIG = {
    "channels": [{"name": name, "type": "webhook", "url": "http://127.0.0.1:9/%s" % name} for name in ("ops", "chat", "pager")],
    "route": {"channels": ["ops"], "group_by": ["tenant", "rule"], "group_wait": "0s"},
    "routes": [
        {"matchers": ['severity="critical"'], "channels": ["pager"], "continue": True},
        {"matchers": ['provider=~"gmail|microsoft"'], "channels": ["chat"], "group_by": ["tenant", "rule", "provider"]},
    ],
    "inhibit_rules": [
        {"source_matchers": ['rule="rule_00"'], "target_matchers": ['rule="rule_01"'], "equal": ["tenant", "sending_ip"]}
    ],
}


def series_labels(series: int) -> dict[str, str]:
    return {
        "tenant": "tenant-%d" % (series % 10),
        "provider": PROVIDERS[series % len(PROVIDERS)],
        "sending_ip": "10.%d.%d.%d" % (series // 65536 % 256, series // 256 % 256, series % 256),
    }


def signals_for(rules: list[ThresholdRule], series_count: int, breached_share: float, at: datetime):
    per_rule = series_count // len(rules)
    breached_every = max(1, round(1 / breached_share)) if breached_share > 0 else 0
    signals = []
    for index, rule in enumerate(rules):
        for number in range(per_rule):
            series = index * per_rule + number
            bounced = 12 if breached_every and series % breached_every == 0 else 1
            signal = judge(rule, series_labels(series), Rate("bounce_rate", bounced, 100), at)
            if signal is not None:
                signals.append(signal)
    return signals


def call_nanoseconds() -> float:
    """Time an empty function call, to show how fast this machine was during the measurement."""

    def empty() -> None:
        pass

    count = 1_000_000
    started = time.perf_counter()
    for _ in range(count):
        empty()
    return (time.perf_counter() - started) / count * 1e9


def main() -> None:
    if not os.environ.get("INBOXWATCH_BENCH_DEFAULT_GC"):
        from inboxwatch.cli.main import GC_THRESHOLDS

        gc.set_threshold(*GC_THRESHOLDS)
    series_count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    breached_share = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    cycles = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rules = [
        ThresholdRule("rule_%02d" % index, "bounce_rate", "above", Levels(0.05, 0.10), hold_for=timedelta(0), min_volume=1)
        for index in range(RULES)
    ]
    policy = alert_policy(Config.model_validate(CONFIG))
    engine = open_engine("sqlite:///%s/bench.db" % tempfile.mkdtemp())
    with engine.begin() as conn:
        silence_store.add_silence(
            conn,
            matchers=['tenant="tenant-3"', 'provider="yahoo"'],
            starts_at=START,
            ends_at=START + timedelta(days=1),
            created_by="bench",
            comment="bench",
            now=START,
        )

    timings = []
    for number in range(cycles + 1):
        at = START + timedelta(minutes=number)
        started, started_cpu = time.perf_counter(), time.process_time()
        signals = signals_for(rules, series_count, breached_share, at)
        judged = time.perf_counter()
        with engine.begin() as conn:
            result = apply_signals(conn, signals, now=at, policy=policy)
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        timings.append((wall, cpu))
        print(
            "cycle %d: %.3f s wall, %.3f s CPU (judging %.3f s wall), %d signals, %d alerts changed, %d outbox rows"
            % (number, wall, cpu, judged - started, len(signals), len(result.outcomes), result.notifications)
        )
    print(
        "%d series, %d rules, %.0f%% breached: first cycle %.3f s wall; median of %d steady cycles %.3f s wall, %.3f s CPU"
        % (
            series_count,
            RULES,
            breached_share * 100,
            timings[0][0],
            cycles,
            statistics.median(wall for wall, _cpu in timings[1:]),
            statistics.median(cpu for _wall, cpu in timings[1:]),
        )
    )
    print("an empty Python function call (with its loop) took %.0f ns during the measurement" % call_nanoseconds())
    print("load average (1, 5, 15 minutes): %.2f %.2f %.2f" % os.getloadavg())
    engine.dispose()


if __name__ == "__main__":
    main()
