"""The routing tree: which routes an alert matches, with the channels, grouping and timers each route sets.

Matching follows Alertmanager. The root route matches every alert. Under
a matching route, the child routes are tried in order. The first child
that matches decides, unless it sets `continue_`, and then later children
are tried too. A matching route whose children all fail to match
is itself the result. Children inherit every setting they leave unset from
their parent; the builder in `inboxwatch.service.alert_policy` applies that
inheritance, so each `Route` here carries its effective settings. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta

from inboxwatch.model.matchers import Matcher, matches_all
from inboxwatch.model.alert_groups import ALL_LABELS
from inboxwatch.model.alerts import RouteSnapshot

DEFAULT_GROUP_BY = ("tenant", "rule")
DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)

# Name of the root route, which takes every alert that no other route takes.
ROOT_ROUTE = "default"



@dataclasses.dataclass(frozen=True)
class Route:
    """One node of the routing tree, with its effective (inherited) settings."""

    name: str
    channels: tuple[str, ...]
    matchers: tuple[Matcher, ...] = ()
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL
    continue_: bool = False
    active_windows: tuple[str, ...] = ()
    mute_windows: tuple[str, ...] = ()
    escalation_policy: str | None = None
    routes: tuple["Route", ...] = ()

    def snapshot(self) -> RouteSnapshot:
        return RouteSnapshot(
            route=self.name,
            channels=self.channels,
            group_by=self.group_by,
            group_wait=self.group_wait,
            group_interval=self.group_interval,
            repeat_interval=self.repeat_interval,
            active_windows=self.active_windows,
            mute_windows=self.mute_windows,
            escalation_policy=self.escalation_policy,
        )


def route_alert(labels: Mapping[str, str], root: Route) -> tuple[RouteSnapshot, ...]:
    """Return the routes an alert with `labels` (including `rule` and `severity`) is sent through, in tree order."""
    return tuple(route.snapshot() for route in matching_routes(root, labels, is_root=True))


def matching_routes(route: Route, labels: Mapping[str, str], *, is_root: bool = False) -> list[Route]:
    if not is_root and not matches_all(route.matchers, labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        matched = matching_routes(child, labels)
        found.extend(matched)
        if matched and not child.continue_:
            break
    return found or [route]


def group_labels(labels: Mapping[str, str], group_by: tuple[str, ...]) -> dict[str, str]:
    """Return the labels that name an alert's group on a route: the `group_by` labels, or all of them for "..."."""
    if ALL_LABELS in group_by:
        return dict(labels)
    return {name: labels.get(name, "") for name in group_by}
