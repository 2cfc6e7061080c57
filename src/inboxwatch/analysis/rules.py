"""Threshold rules: judging one group's rate against warning and critical levels.

Pure: no I/O and no clock. The built-in rules and their levels are data in
`inboxwatch/config/default_rules.toml`; the service turns configured rules
into `ThresholdRule` objects.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import datetime, timedelta

from inboxwatch.analysis.rates import Rate
from inboxwatch.model.alerts import SEVERITY_VALUES, Severity, Signal
from inboxwatch.model.providers import DISPLAY_NAMES

ABOVE = "above"
BELOW = "below"

# Display names of providers in summaries; values that are no known provider are shown as written.
PROVIDER_NAMES = DISPLAY_NAMES


@dataclasses.dataclass(frozen=True)
class Levels:
    """The warning and critical levels of a rule, as fractions; either may be None (not checked)."""

    warning: float | None
    critical: float | None


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """A limit on one rate: breached when the rate falls under a level (`direction` "below") or rises over one ("above").

    The rate is taken over `window` ending at the evaluation time, per group
    of `group_by` dimensions. A group whose denominator is under
    `min_volume` produces no signal at all, breached or clear. With
    `use_wilson` the rule judges the end of the Wilson interval that favours
    the sender: the lower bound for "above" rules, the upper bound for
    "below" rules. `hold_for` is the `for` duration a breach must last
    before the alert fires; the alert lifecycle applies it. `exit_level`,
    when set, is the level an open alert's value must get back past before
    the alert may resolve (under it for "above" rules, over it for "below"
    rules); between it and the enter level the signal is in hysteresis.
    """

    name: str
    metric: str
    direction: str
    levels: Levels
    window: timedelta = timedelta(minutes=5)
    hold_for: timedelta = timedelta(minutes=5)
    min_volume: int = 100
    group_by: tuple[str, ...] = ("provider",)
    use_wilson: bool = False
    wilson_z: float = 1.96
    provider_levels: Mapping[str, Levels] = dataclasses.field(default_factory=dict)
    exit_level: float | None = None

    def __post_init__(self) -> None:
        if self.direction not in (ABOVE, BELOW):
            raise ValueError("rule %s: invalid direction %r: expected 'above' or 'below'" % (self.name, self.direction))

    def levels_for(self, provider: str | None) -> Levels:
        """Return the levels for a provider: its override where the rule has one, else the rule's own."""
        if provider is not None and provider in self.provider_levels:
            return self.provider_levels[provider]
        return self.levels


def judge(rule: ThresholdRule, labels: Mapping[str, str], rate: Rate, at: datetime) -> Signal | None:
    """Judge one group's rate at `at`: a breached or clear signal, or None under the minimum volume.

    `labels` identify the group (tenant and the rule's group_by dimensions).
    A breached signal is critical when the critical level is crossed, else
    warning; a clear signal has severity info.
    """
    value = rate.value
    if rate.denominator < rule.min_volume or value is None:
        return None

    judged = judged_value(rule, rate)
    levels = rule.levels_for(labels.get("provider"))
    if crosses(rule.direction, judged, levels.critical):
        severity, threshold = Severity.CRITICAL, levels.critical
    elif crosses(rule.direction, judged, levels.warning):
        severity, threshold = Severity.WARNING, levels.warning
    else:
        severity = Severity.INFO
        threshold = levels.warning if levels.warning is not None else levels.critical

    breached = severity != Severity.INFO
    in_hysteresis = not breached and rule.exit_level is not None and not crosses_back(rule.direction, judged, rule.exit_level)
    return Signal(
        rule=rule.name,
        severity=severity,
        labels=dict(labels),
        breached=breached,
        time=at,
        value=value,
        threshold=threshold,
        denominator=rate.denominator,
        summary=summarize(rule, labels, rate, judged, threshold, severity),
        annotations={
            "metric": rule.metric,
            "direction": rule.direction,
            "numerator": rate.numerator,
            "judged_value": judged,
            "window_seconds": rule.window.total_seconds(),
            "for_seconds": rule.hold_for.total_seconds(),
        },
        in_hysteresis=in_hysteresis,
    )


def judged_value(rule: ThresholdRule, rate: Rate) -> float:
    """Return the figure compared with the levels: the rate itself, or its sender-favouring Wilson bound."""
    assert rate.value is not None
    if not rule.use_wilson:
        return rate.value
    lower, upper = rate.wilson(rule.wilson_z)
    return lower if rule.direction == ABOVE else upper


def crosses_back(direction: str, value: float, exit_level: float) -> bool:
    """Tell whether a value is past the exit level on the good side: under it for "above" rules, over it for "below"."""
    if direction == ABOVE:
        return value < exit_level
    return value > exit_level


def crosses(direction: str, value: float, level: float | None) -> bool:
    if level is None:
        return False
    if direction == ABOVE:
        return value > level
    return value < level


def summarize(
    rule: ThresholdRule,
    labels: Mapping[str, str],
    rate: Rate,
    judged: float,
    threshold: float | None,
    severity: Severity,
) -> str:
    """Write a one-line summary such as "Microsoft bounce rate 12.5% (25/200) over 5m above 10% critical"."""
    counts = "%d/%d" % (rate.numerator, rate.denominator)
    if rule.use_wilson:
        bound = "lower" if rule.direction == ABOVE else "upper"
        counts += ", Wilson %s bound %s" % (bound, percent(judged))
    subject = "%s %s" % (group_name(rule, labels), rule.metric.replace("_", " "))
    observed = "%s %s (%s) over %s" % (subject, percent(rate.value or 0.0), counts, short_duration(rule.window))
    if threshold is None:
        return observed
    if severity == Severity.INFO:
        return "%s, not %s the %s warning level" % (observed, rule.direction, percent(threshold))
    return "%s %s %s %s" % (observed, rule.direction, percent(threshold), SEVERITY_VALUES[severity])


def group_name(rule: ThresholdRule, labels: Mapping[str, str]) -> str:
    parts = []
    for dimension in rule.group_by:
        value = labels.get(dimension, "")
        if dimension == "provider":
            parts.append(PROVIDER_NAMES.get(value, value or "unknown provider"))
        else:
            parts.append(value or "unknown %s" % dimension.replace("_", " "))
    name = " ".join(parts) if parts else "Overall"
    tenant = labels.get("tenant")
    if tenant and tenant != "default":
        name = "%s: %s" % (tenant, name)
    return name


# Summaries repeat the same few levels and, cycle after cycle, the same rates.
@functools.lru_cache(maxsize=4096)
def percent(fraction: float) -> str:
    """Write a fraction as a percentage with at most two decimals: 0.125 -> "12.5%", 0.9 -> "90%"."""
    text = "%.2f" % (fraction * 100)
    return text.rstrip("0").rstrip(".") + "%"


# Every signal of a rule writes the same window into its summary.
@functools.lru_cache(maxsize=256)
def short_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds
