"""Notification group keys: the group an alert belongs to on each route it matched. No I/O.

The alert engine notifies groups under these keys, and a single-alert
notification of a grouped alert (acknowledgement, escalation) carries the
same key, so receivers that deduplicate by key (PagerDuty's `dedup_key`,
Alertmanager's `groupKey`) reach the incident the group notification opened.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence

from inboxwatch.model.alerts import Alert, RouteSnapshot

# A `group_by` entry that stands for every label: each alert is its own group.
ALL_LABELS = "..."


@dataclasses.dataclass(frozen=True)
class AlertGroupKey:
    """The group of one alert on one route: the route, the group's labels and its key."""

    route: RouteSnapshot
    labels: dict[str, str]
    key: str


def group_key(route: str, labels: Mapping[str, str]) -> str:
    """Return the sha256 hex of the route name and the group labels, sorted by name."""
    parts = [route] + ["%s=%s" % (name, labels[name]) for name in sorted(labels)]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def group_labels_of(alert: Alert, labels: Mapping[str, str], group_by: Sequence[str]) -> dict[str, str]:
    """Return the labels that name the alert's group; "..." takes every label and the rule, never the severity.

    `labels` are the alert's `match_labels()`, computed once by the caller.
    """
    if ALL_LABELS in group_by:
        return {**alert.labels, "rule": alert.rule}
    return {name: labels.get(name, "") for name in group_by}


def alert_group_keys(alert: Alert) -> list[AlertGroupKey]:
    """List the alert's groups, one per route snapshot it fired with, in routing-tree order; empty before it fires."""
    match_labels = alert.match_labels()
    found = []
    for route in alert.route_snapshots:
        labels = group_labels_of(alert, match_labels, route.group_by)
        found.append(AlertGroupKey(route, labels, group_key(route.route, labels)))
    return found
