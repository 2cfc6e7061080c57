"""Inhibition: a firing source alert mutes the target alerts that match a rule while the `equal` labels agree.

As in Alertmanager, a label missing on both alerts counts as equal, an
alert never inhibits itself, and an inhibited or silenced source still
inhibits. Only firing and acknowledged alerts are sources; a pending alert
inhibits nothing. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from inboxwatch.model.matchers import Matcher, memoized_matcher, parse_matchers
from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState

SOURCE_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED)


@dataclasses.dataclass(frozen=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


# A critical alert mutes the warning alert of the same rule and labels. The
# severity is not part of the fingerprint, so a threshold rule's warning and
# critical for one group are already one alert. This rule covers evaluators
# that raise both severities as separate alerts under one rule name.
CRITICAL_MUTES_WARNING = InhibitRule(
    source=parse_matchers(['severity="critical"']),
    target=parse_matchers(['severity="warning"']),
    equal=("tenant", "rule", "provider", "sending_ip", "sending_domain", "list"),
)


@dataclasses.dataclass(frozen=True)
class InhibitStage:
    """The mute stage for inhibition: marks each open target alert with the fingerprints of its sources."""

    rules: Sequence[InhibitRule]
    name: str = "inhibited"
    field: str = "inhibited_by"

    def marks(self, alerts: Sequence[Alert], now: datetime) -> Mapping[str, tuple[str, ...]]:
        found: dict[str, list[str]] = defaultdict(list)
        labelled = [(alert, alert.match_labels()) for alert in alerts if alert.state in OPEN_STATES]
        for rule in self.rules:
            is_target = memoized_matcher(rule.target)
            targets = [(alert, labels) for alert, labels in labelled if is_target(labels)]
            if not targets:
                continue
            is_source = memoized_matcher(rule.source)
            sources_by_key: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for alert, labels in labelled:
                if alert.state in SOURCE_STATES and is_source(labels):
                    sources_by_key[equal_key(labels, rule.equal)].append(alert.fingerprint)
            if not sources_by_key:
                continue
            for alert, labels in targets:
                for source in sources_by_key.get(equal_key(labels, rule.equal), ()):
                    if source != alert.fingerprint and source not in found[alert.fingerprint]:
                        found[alert.fingerprint].append(source)
        return {fingerprint: tuple(sorted(sources)) for fingerprint, sources in found.items() if sources}


def equal_key(labels: Mapping[str, str], names: Sequence[str]) -> tuple[str, ...]:
    return tuple(labels.get(name, "") for name in names)
