"""Score inboxwatch's anomaly detectors against a plain z-score on labelled synthetic streams.

The generator makes hourly per-provider counts with weekly seasonality:
busy weekdays, quieter weekends and near-silent nights. Campaign bursts
multiply volume and nudge bounce rates. Per-hour rates are drawn from Beta
distributions, so hours vary more than binomial noise, as real campaigns
and lists do. Into each stream it injects three labelled incidents at random
times and providers: a bounce spike (bounce rate to 8% for 4 hours), a slow
complaint creep (complaint rate rising linearly to 5 times normal over
72 hours, then holding 24 hours) and a volume drop (volume to a quarter for
6 hours). Some streams carry no incident, so every alert on them is false.

Both detectors see the same final counts. inboxwatch's detectors skip the
hours that are not mature yet, so their delays include that wait; the plain
z-score judges each hour as soon as it ends. The plain z-score flags an
hour whose value is more than 2 standard deviations from the mean of the
100 hours before it, in the harmful direction only (rates up, volume down),
which is the fairer comparison.

An alert episode is a run of consecutive flagged hours for one provider
and metric. It is a true detection when it overlaps an incident of the same
provider and the metric that incident changes, false when it overlaps no
incident of that provider, and not scored otherwise. Precision is true
episodes over scored episodes, recall is detected incidents over incidents,
delay is hours from incident start to the end of the first flagged hour.

    python bench/anomaly_bench.py [--streams N] [--clean N] [--seed S] [--markdown]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from inboxwatch.analysis.anomaly.detectors import HOUR
from inboxwatch.analysis.anomaly.fleet import detect
from inboxwatch.analysis.anomaly.parameters import AnomalyParameters
from inboxwatch.store.metrics import CountRow

START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday
WARMUP_WEEKS = 3
SCORED_WEEKS = 3
PEAK_HOURLY = 6000

# Provider, share of volume, bounce rate, complaint rate, deferral rate. The
# last stream is small on purpose, so shrinkage toward the fleet matters.
PROVIDERS = (
    ("gmail", 0.50, 0.012, 0.0006, 0.02),
    ("microsoft", 0.25, 0.018, 0.0009, 0.04),
    ("yahoo", 0.15, 0.015, 0.0008, 0.03),
    ("other", 0.07, 0.025, 0.0005, 0.05),
    ("apple", 0.03, 0.010, 0.0004, 0.01),
)

# Beta strength of the per-hour rate draws: lower means more spread between hours.
RATE_STRENGTH = 4000
NIGHT_HOURS = range(0, 6)

PLAIN_WINDOW = 100
PLAIN_SIGMAS = 2.0

# The metric each incident kind changes.
INCIDENT_METRIC = {"bounce_spike": "bounce_rate", "complaint_creep": "complaint_rate", "volume_drop": "volume"}


@dataclasses.dataclass(frozen=True)
class Incident:
    kind: str
    provider: str
    start: datetime
    end: datetime


def hourly_shape(moment: datetime) -> float:
    """Share of peak volume for an hour: weekday business hours at 1, nights near 0.02, weekends at 40%."""
    hour = moment.hour
    if hour in NIGHT_HOURS:
        level = 0.02
    elif 8 <= hour < 20:
        level = 1.0
    else:
        level = 0.25
    if moment.weekday() >= 5:
        level *= 0.4
    return level


def beta_rate(rng: random.Random, mean: float) -> float:
    return rng.betavariate(mean * RATE_STRENGTH, (1 - mean) * RATE_STRENGTH)


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Draw a binomial count; a normal approximation above 1000 trials keeps the bench fast."""
    if n <= 0 or p <= 0:
        return 0
    if n < 1000:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean = n * p
    sd = math.sqrt(n * p * (1 - p))
    return min(n, max(0, round(rng.gauss(mean, sd))))


def plan_incidents(rng: random.Random) -> list[Incident]:
    """Place the three incidents in the scored weeks, on different providers and days."""
    scored_start = START + timedelta(weeks=WARMUP_WEEKS)
    days = rng.sample(range(1, SCORED_WEEKS * 7 - 5), 3)
    providers = rng.sample([name for name, *_ in PROVIDERS[:3]], 3)
    incidents = []
    for kind, day, provider in zip(("bounce_spike", "complaint_creep", "volume_drop"), days, providers):
        start = scored_start + timedelta(days=day, hours=rng.randrange(9, 16))
        length = {"bounce_spike": 4, "complaint_creep": 96, "volume_drop": 6}[kind]
        incidents.append(Incident(kind, provider, start, start + timedelta(hours=length)))
    return incidents


def generate(rng: random.Random, incidents: list[Incident]) -> dict[str, list[tuple[datetime, CountRow]]]:
    """Return hourly counts per provider over the warm-up and scored weeks."""
    hours = (WARMUP_WEEKS + SCORED_WEEKS) * 7 * 24
    bursts = set()
    for day in range(hours // 24):
        if rng.random() < 0.5:
            first = START + timedelta(days=day, hours=rng.randrange(9, 18))
            bursts.update({first, first + HOUR})
    series: dict[str, list[tuple[datetime, CountRow]]] = {name: [] for name, *_ in PROVIDERS}
    for index in range(hours):
        moment = START + index * HOUR
        burst = moment in bursts
        for name, share, bounce, complaint, deferral in PROVIDERS:
            volume_mean = PEAK_HOURLY * share * hourly_shape(moment) * (4 if burst else 1)
            bounce_mean = bounce * (1.3 if burst else 1)
            complaint_mean = complaint
            for incident in incidents:
                if incident.provider != name or not incident.start <= moment < incident.end:
                    continue
                if incident.kind == "bounce_spike":
                    bounce_mean = 0.08
                elif incident.kind == "volume_drop":
                    volume_mean *= 0.25
                else:
                    progress = min((moment - incident.start) / timedelta(hours=72), 1.0)
                    complaint_mean = complaint * (1 + 4 * progress)
            sent = max(0, round(rng.gauss(volume_mean, math.sqrt(volume_mean)))) if volume_mean > 0 else 0
            bounced = binomial(rng, sent, beta_rate(rng, bounce_mean))
            deferred = binomial(rng, sent - bounced, beta_rate(rng, deferral))
            delivered = sent - bounced
            complained = binomial(rng, delivered, beta_rate(rng, complaint_mean))
            row = CountRow((name,), sent, delivered, deferred, bounced, 0, complained, 0, 0, 0, 0)
            series[name].append((moment, row))
    return series


def metric_value(metric: str, row: CountRow) -> float | None:
    """Return the value the plain z-score judges, or None when its denominator is 0."""
    if metric == "volume":
        return float(row.sent)
    numerator, denominator = {
        "bounce_rate": (row.bounced, row.sent),
        "complaint_rate": (row.complained, row.delivered),
        "deferral_rate": (row.deferred, row.delivered + row.deferred + row.bounced),
    }[metric]
    return numerator / denominator if denominator else None


def plain_alerts(series: dict[str, list[tuple[datetime, CountRow]]], scored_from: datetime) -> set[tuple[str, str, datetime]]:
    """Flag hours more than 2 standard deviations from the mean of the previous 100 hours, in the harmful direction."""
    flagged = set()
    for provider, points in series.items():
        for metric in ("bounce_rate", "complaint_rate", "deferral_rate", "volume"):
            history: list[float] = []
            for moment, row in points:
                value = metric_value(metric, row)
                if value is None:
                    continue
                if moment >= scored_from and len(history) >= PLAIN_WINDOW:
                    window = history[-PLAIN_WINDOW:]
                    mean = statistics.fmean(window)
                    sd = statistics.pstdev(window)
                    if sd > 0:
                        z = (value - mean) / sd
                        if (z < -PLAIN_SIGMAS) if metric == "volume" else (z > PLAIN_SIGMAS):
                            flagged.add((provider, metric, moment))
                history.append(value)
    return flagged


def inboxwatch_alerts(
    series: dict[str, list[tuple[datetime, CountRow]]], scored_from: datetime, params: AnomalyParameters
) -> set[tuple[str, str, datetime]]:
    """Run the detectors at the end of every scored hour over the history so far; flag the hour when one is anomalous."""
    flagged = set()
    keep = max(params.baseline + params.monitor + timedelta(hours=8), timedelta(weeks=params.volume_weeks, hours=8)) // HOUR
    count = len(next(iter(series.values())))
    for index in range(count):
        moment = START + index * HOUR
        if moment < scored_from:
            continue
        at = moment + HOUR
        groups = {}
        for provider, points in series.items():
            groups[(("provider", provider),)] = points[max(0, index + 1 - keep) : index + 1]
        for finding in detect(groups, at, params):
            if finding.anomalous:
                flagged.add((finding.labels["provider"], finding.metric, moment))
    return flagged


def episodes(flagged: set[tuple[str, str, datetime]]) -> list[tuple[str, str, datetime, datetime]]:
    """Merge consecutive flagged hours per provider and metric into (provider, metric, first hour, last hour)."""
    by_stream: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for provider, metric, moment in flagged:
        by_stream[(provider, metric)].append(moment)
    merged = []
    for (provider, metric), moments in by_stream.items():
        moments.sort()
        first = last = moments[0]
        for moment in moments[1:]:
            if moment - last > HOUR:
                merged.append((provider, metric, first, last))
                first = moment
            last = moment
        merged.append((provider, metric, first, last))
    return merged


@dataclasses.dataclass
class Score:
    true_episodes: int = 0
    false_episodes: int = 0
    false_at_night: int = 0
    false_by_metric: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))
    detected: int = 0
    incidents: int = 0
    delays: list[float] = dataclasses.field(default_factory=list)
    by_kind: dict[str, list[int]] = dataclasses.field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    delays_by_kind: dict[str, list[float]] = dataclasses.field(default_factory=lambda: defaultdict(list))

    @property
    def precision(self) -> float:
        scored = self.true_episodes + self.false_episodes
        return self.true_episodes / scored if scored else float("nan")

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else float("nan")


def score(flagged: set[tuple[str, str, datetime]], incidents: list[Incident], result: Score) -> None:
    found = episodes(flagged)
    for provider, metric, first, last in found:
        overlapping = [item for item in incidents if item.provider == provider and first <= item.end and last >= item.start]
        if not overlapping:
            result.false_episodes += 1
            result.false_by_metric[metric] += 1
            if first.hour in NIGHT_HOURS:
                result.false_at_night += 1
        elif any(INCIDENT_METRIC[item.kind] == metric for item in overlapping):
            result.true_episodes += 1
    for incident in incidents:
        result.incidents += 1
        result.by_kind[incident.kind][1] += 1
        hits = [
            moment
            for provider, metric, moment in flagged
            if provider == incident.provider and metric == INCIDENT_METRIC[incident.kind] and moment >= incident.start
            and moment < incident.end + timedelta(hours=24)
        ]
        if hits:
            result.detected += 1
            result.by_kind[incident.kind][0] += 1
            delay = (min(hits) + HOUR - incident.start) / HOUR
            result.delays.append(delay)
            result.delays_by_kind[incident.kind].append(delay)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=8, help="Streams with incidents (default 8).")
    parser.add_argument("--clean", type=int, default=4, help="Streams without incidents (default 4).")
    parser.add_argument("--seed", type=int, default=1, help="Random seed of the first stream (default 1).")
    parser.add_argument("--markdown", action="store_true", help="Print a Markdown table for docs/benchmarks.md.")
    args = parser.parse_args()

    params = AnomalyParameters()
    scored_from = START + timedelta(weeks=WARMUP_WEEKS)
    results = {"inboxwatch": Score(), "plain z-score": Score()}
    began = time.perf_counter()
    for offset in range(args.streams + args.clean):
        rng = random.Random(args.seed + offset)
        incidents = plan_incidents(rng) if offset < args.streams else []
        series = generate(rng, incidents)
        score(inboxwatch_alerts(series, scored_from, params), incidents, results["inboxwatch"])
        score(plain_alerts(series, scored_from), incidents, results["plain z-score"])
    elapsed = time.perf_counter() - began

    rows = []
    for name, result in results.items():
        delay = "%.1f" % statistics.median(result.delays) if result.delays else "-"
        kinds = ", ".join(
            "%s %d/%d%s"
            % (kind, hit, total, " in %.0f h" % statistics.median(result.delays_by_kind[kind]) if result.delays_by_kind[kind] else "")
            for kind, (hit, total) in sorted(result.by_kind.items())
        )
        false_metrics = ", ".join("%s %d" % item for item in sorted(result.false_by_metric.items()))
        rows.append(
            (
                name,
                "%.2f" % result.precision,
                "%.2f" % result.recall,
                delay,
                "%d (%s)" % (result.false_episodes, false_metrics or "none"),
                str(result.false_at_night),
                kinds,
            )
        )
    header = ("detector", "precision", "recall", "median delay (h)", "false episodes", "false at night", "detected by kind, median delay")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in [header, *rows]:
            print("  ".join(row))
    print(
        "\n%d streams with incidents, %d clean, %d scored hours each, %d providers; %.0f s on %s, Python %s"
        % (args.streams, args.clean, SCORED_WEEKS * 168, len(PROVIDERS), elapsed, platform.machine(), platform.python_version()),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
