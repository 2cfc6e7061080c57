"""Grades for delivery, bounce and complaint rates per provider, against benchmark tables, with recommendations.

Pure apart from `default_tables`, which reads the packaged
`benchmarks.toml`. A provider's grade for a metric is the best grade
whose limit its rate does not pass. Its overall grade is its worst metric
grade, because one bad metric is enough to get mail blocked. The sender's
overall grade is the volume-weighted mean of the provider grades (A=4 to
F=0), rounded down. A provider with less volume than `min_volume` gets no
grade for the rates that volume is the denominator of. Without complaint
data for the period (see `inboxwatch.service.complaint_sources`) the
complaint rate gets no grade and the overall grades come from the other
metrics, because a rate of 0 from no source is not a perfect score. Gmail
sends no complaint reports of its own, so when the events hold no Gmail
complaint and Postmaster Tools reported spam rates for the window, Gmail's
complaint rate is graded from those spam rates instead.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from inboxwatch.analysis.rates import Rate, rates_for
from inboxwatch.analysis.rules import PROVIDER_NAMES, percent
from inboxwatch.model.text import plural
from inboxwatch.store.metrics import CountRow, sent_volume

GRADES = ("A", "B", "C", "D", "F")
GRADE_POINTS = {"A": 4, "B": 3, "C": 2, "D": 1, "F": 0}
GRADED_METRICS = ("delivery_rate", "bounce_rate", "complaint_rate")

# Grades that get a recommendation.
POOR_GRADES = ("C", "D", "F")

# Bounce reasons (the vocabulary of `inboxwatch.classify.bounce`) that
# reject the sender or its mail, not the address: blocklists, reputation,
# authentication and content policy. When they are most of a provider's
# bounces, list hygiene is the wrong advice.
POLICY_BOUNCE_REASONS = frozenset(
    {"blocked", "badreputation", "policyviolation", "spamdetected", "rejected", "authfailure", "requireptr", "filtered", "contenterror", "speeding", "toomanyconn"}
)
POLICY_BOUNCE_ADVICE = (
    "most of these bounces are rejections of the sender, not of the address (%s of %s bounces with a known reason: %s), "
    "so check the sending IPs and domains on blocklists (inboxwatch check blocklists), the Microsoft SNDS and Google Postmaster Tools reputation "
    "(inboxwatch reputation status) and SPF, DKIM and DMARC (inboxwatch check auth), and request delisting where listed"
)


@dataclasses.dataclass(frozen=True)
class BenchmarkTable:
    """The limits of grades A to D for one metric, the source they come from, and what to say when a sender misses them."""

    direction: str
    limits: tuple[float, float, float, float]
    source: str
    guidance: str = ""
    guidance_level: float | None = None
    advice: str = ""

    def passes(self, value: float, limit: float) -> bool:
        """Return whether `value` is past `limit` in the harmful direction."""
        return value > limit if self.direction == "above" else value < limit

    def grade(self, value: float) -> str:
        for grade, limit in zip(GRADES, self.limits):
            if (value <= limit) if self.direction == "above" else (value >= limit):
                return grade
        return "F"


@dataclasses.dataclass(frozen=True)
class Benchmarks:
    """Default tables per metric and provider-specific tables that replace them."""

    metrics: Mapping[str, BenchmarkTable]
    providers: Mapping[str, Mapping[str, BenchmarkTable]] = dataclasses.field(default_factory=dict)

    def table(self, provider: str, metric: str) -> BenchmarkTable:
        return self.providers.get(provider, {}).get(metric) or self.metrics[metric]


@dataclasses.dataclass(frozen=True)
class PostmasterSpamRate:
    """Gmail's user-reported spam rate from Postmaster Tools over a window: the mean of `days` daily rates, one per domain and day."""

    rate: float
    days: int

    @property
    def source(self) -> str:
        return "Postmaster Tools spam rate, mean of %s" % plural(self.days, "daily rate")


@dataclasses.dataclass(frozen=True)
class MetricGrade:
    """One metric of one provider; `has_data` is False when no source could report it, so `rate` is not a measurement.

    `source` is empty when the rate comes from the stored events. Otherwise
    it names where `external_value` comes from, and `rate` is not used.
    """

    metric: str
    rate: Rate
    grade: str | None
    table: BenchmarkTable
    has_data: bool = True
    source: str = ""
    external_value: float | None = None

    @property
    def value(self) -> float | None:
        """The graded rate, or None when the denominator is 0 or there is no data."""
        if self.source:
            return self.external_value
        return self.rate.value if self.has_data else None


@dataclasses.dataclass(frozen=True)
class ProviderGrade:
    """One provider's grades; `bounce_reasons` counts its bounces in the window per reason, where known."""

    provider: str
    volume: int
    metrics: tuple[MetricGrade, ...]
    bounce_reasons: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def overall(self) -> str | None:
        graded = [item.grade for item in self.metrics if item.grade is not None]
        return max(graded, key=GRADES.index) if graded else None


@dataclasses.dataclass(frozen=True)
class GradeReport:
    """Grades for a window; `metrics_without_data` lists the metrics the overall grades leave out for lack of data."""

    days: int
    providers: tuple[ProviderGrade, ...]
    overall: str | None
    recommendations: tuple[str, ...]
    metrics_without_data: tuple[str, ...] = ()


def table_from(data: Mapping[str, Any]) -> BenchmarkTable:
    return BenchmarkTable(
        direction=data["direction"],
        limits=(float(data["a"]), float(data["b"]), float(data["c"]), float(data["d"])),
        source=str(data.get("source", "")),
        guidance=str(data.get("guidance", "")),
        guidance_level=float(data["guidance_level"]) if data.get("guidance_level") is not None else None,
        advice=str(data.get("advice", "")),
    )


def default_tables() -> dict[str, Any]:
    """Read the packaged default benchmark tables as plain TOML data."""
    text = resources.files("inboxwatch.analysis").joinpath("benchmarks.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def build_benchmarks(defaults: Mapping[str, Any], metric_overrides: Mapping[str, Mapping[str, Any]], provider_overrides: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Benchmarks:
    """Merge configured tables over the defaults; a configured table replaces the default one whole."""
    metrics = {name: table_from(data) for name, data in defaults["metrics"].items()}
    metrics.update({name: table_from(data) for name, data in metric_overrides.items()})
    providers: dict[str, dict[str, BenchmarkTable]] = {}
    for provider, tables in defaults.get("providers", {}).items():
        providers[provider] = {name: table_from(data) for name, data in tables.items()}
    for provider, tables in provider_overrides.items():
        providers.setdefault(provider, {}).update({name: table_from(data) for name, data in tables.items()})
    return Benchmarks(metrics, providers)


def grade_providers(
    rows: Sequence[CountRow],
    benchmarks: Benchmarks,
    days: int,
    min_volume: int,
    *,
    complaint_data: bool = True,
    postmaster_spam: PostmasterSpamRate | None = None,
    bounce_reasons: Mapping[str, Mapping[str, int]] | None = None,
) -> GradeReport:
    """Grade each provider's counts (rows keyed by provider) over `days` days.

    `complaint_data` is False when no complaint source existed for the
    window. A complained event in `rows` overrides it. With
    `postmaster_spam`, Gmail's complaint rate is graded from it when the
    Gmail row has no complained event. Postmaster Tools publishes no
    figures for low volumes, so `min_volume` does not apply to it.
    `bounce_reasons` counts bounces per provider and reason, and picks the
    advice for a poor bounce rate.
    """
    complaint_data = complaint_data or any(row.complained > 0 for row in rows)
    graded = []
    for row in rows:
        provider = row.key[0] if row.key else "all"
        rates = rates_for(row)
        items = []
        for metric in GRADED_METRICS:
            rate = rates[metric]
            table = benchmarks.table(provider, metric)
            if metric == "complaint_rate" and provider == "gmail" and postmaster_spam is not None and row.complained == 0:
                grade = table.grade(postmaster_spam.rate) if math.isfinite(postmaster_spam.rate) else None
                items.append(MetricGrade(metric, rate, grade, table, True, postmaster_spam.source, postmaster_spam.rate))
                continue
            has_data = complaint_data or metric != "complaint_rate"
            value = rate.value if has_data else None
            grade = table.grade(value) if value is not None and rate.denominator >= min_volume and math.isfinite(value) else None
            items.append(MetricGrade(metric, rate, grade, table, has_data))
        reasons = (bounce_reasons or {}).get(provider, {})
        graded.append(ProviderGrade(provider, sent_volume(row), tuple(items), reasons))
    missing = () if complaint_data else ("complaint_rate",)
    return GradeReport(days, tuple(graded), overall_grade(graded), tuple(recommendations(graded, days)), missing)


def missing_data_note(report: GradeReport) -> str | None:
    """Describe which metrics the overall grade leaves out for lack of data, or return None when none."""
    if not report.metrics_without_data:
        return None
    used = [metric.replace("_", " ") for metric in GRADED_METRICS if metric not in report.metrics_without_data]
    missing = [metric.replace("_", " ") for metric in report.metrics_without_data]
    note = "based on %s only; no %s data, because no feedback loop or ESP source exists for the period" % (
        " and ".join(used),
        " or ".join(name.removesuffix(" rate") for name in missing),
    )
    external = sorted({PROVIDER_NAMES.get(provider.provider, provider.provider) for provider in report.providers for item in provider.metrics if item.source})
    if external:
        note += "; except %s, whose complaint rate is Postmaster Tools' spam rate" % " and ".join(external)
    return note


def overall_grade(providers: Sequence[ProviderGrade]) -> str | None:
    weighted = [(GRADE_POINTS[item.overall], item.volume) for item in providers if item.overall is not None and item.volume > 0]
    total = sum(volume for _, volume in weighted)
    if total == 0:
        return None
    points = sum(points * volume for points, volume in weighted) / total
    return GRADES[4 - math.floor(points)]


def recommendations(providers: Sequence[ProviderGrade], days: int) -> list[str]:
    """Write one recommendation per poorly graded metric, worst grade first, such as
    "Gmail complaint rate 0.25% over 7 days: above Google's 0.1% guidance; stop mailing ...".
    """
    found = []
    for provider in providers:
        name = PROVIDER_NAMES.get(provider.provider, provider.provider)
        for item in provider.metrics:
            value = item.value
            if item.grade not in POOR_GRADES or value is None:
                continue
            relation = "above" if item.table.direction == "above" else "below"
            table = item.table
            if table.guidance and table.guidance_level is not None and table.passes(value, table.guidance_level):
                reason = "%s %s" % (relation, table.guidance)
            else:
                missed = GRADES[GRADES.index(item.grade) - 1]
                reason = "%s the %s limit of grade %s" % (relation, percent(table.limits[GRADES.index(missed)]), missed)
            counts = item.source if item.source else "%d/%d" % (item.rate.numerator, item.rate.denominator)
            text = "%s %s %s over %s (%s), grade %s: %s" % (
                name,
                item.metric.replace("_", " "),
                percent(value),
                plural(days, "day"),
                counts,
                item.grade,
                reason,
            )
            advice = advice_for(item, provider)
            if advice:
                text += "; " + advice
            found.append((GRADES.index(item.grade), -provider.volume, text + "."))
    return [text for *_, text in sorted(found, reverse=False, key=lambda entry: (-entry[0], entry[1]))]


def advice_for(item: MetricGrade, provider: ProviderGrade) -> str:
    """Return the advice for a poorly graded metric: the table's, unless most bounces are policy or blocklist rejections."""
    if item.metric == "bounce_rate":
        known = {reason: count for reason, count in provider.bounce_reasons.items() if reason and reason != "unknown"}
        policy = {reason: count for reason, count in known.items() if reason in POLICY_BOUNCE_REASONS}
        total = sum(known.values())
        if total and sum(policy.values()) * 2 > total:
            named = ", ".join("%s %d" % (reason, count) for reason, count in sorted(policy.items(), key=lambda entry: (-entry[1], entry[0])))
            return POLICY_BOUNCE_ADVICE % (sum(policy.values()), total, named)
    return item.table.advice
