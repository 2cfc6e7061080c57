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
metrics, because a rate of 0 from no source is not a perfect score.
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
class MetricGrade:
    """One metric of one provider; `has_data` is False when no source could report it, so `rate` is not a measurement."""

    metric: str
    rate: Rate
    grade: str | None
    table: BenchmarkTable
    has_data: bool = True

    @property
    def value(self) -> float | None:
        """The measured rate, or None when the denominator is 0 or there is no data."""
        return self.rate.value if self.has_data else None


@dataclasses.dataclass(frozen=True)
class ProviderGrade:
    provider: str
    volume: int
    metrics: tuple[MetricGrade, ...]

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
    rows: Sequence[CountRow], benchmarks: Benchmarks, days: int, min_volume: int, *, complaint_data: bool = True
) -> GradeReport:
    """Grade each provider's counts (rows keyed by provider) over `days` days.

    `complaint_data` is False when no complaint source existed for the
    window. A complained event in `rows` overrides it.
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
            has_data = complaint_data or metric != "complaint_rate"
            value = rate.value if has_data else None
            grade = table.grade(value) if value is not None and rate.denominator >= min_volume and math.isfinite(value) else None
            items.append(MetricGrade(metric, rate, grade, table, has_data))
        graded.append(ProviderGrade(provider, sent_volume(row), tuple(items)))
    missing = () if complaint_data else ("complaint_rate",)
    return GradeReport(days, tuple(graded), overall_grade(graded), tuple(recommendations(graded, days)), missing)


def missing_data_note(report: GradeReport) -> str | None:
    """Describe which metrics the overall grade leaves out for lack of data, or return None when none."""
    if not report.metrics_without_data:
        return None
    used = [metric.replace("_", " ") for metric in GRADED_METRICS if metric not in report.metrics_without_data]
    missing = [metric.replace("_", " ") for metric in report.metrics_without_data]
    return "based on %s only; no %s data, because no feedback loop or ESP source exists for the period" % (
        " and ".join(used),
        " or ".join(name.removesuffix(" rate") for name in missing),
    )


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
            if item.grade not in POOR_GRADES or item.rate.value is None:
                continue
            relation = "above" if item.table.direction == "above" else "below"
            table = item.table
            if table.guidance and table.guidance_level is not None and table.passes(item.rate.value, table.guidance_level):
                reason = "%s %s" % (relation, table.guidance)
            else:
                missed = GRADES[GRADES.index(item.grade) - 1]
                reason = "%s the %s limit of grade %s" % (relation, percent(table.limits[GRADES.index(missed)]), missed)
            text = "%s %s %s over %s (%d/%d), grade %s: %s" % (
                name,
                item.metric.replace("_", " "),
                percent(item.rate.value),
                plural(days, "day"),
                item.rate.numerator,
                item.rate.denominator,
                item.grade,
                reason,
            )
            if item.table.advice:
                text += "; " + item.table.advice
            found.append((GRADES.index(item.grade), -provider.volume, text + "."))
    return [text for *_, text in sorted(found, reverse=False, key=lambda entry: (-entry[0], entry[1]))]
