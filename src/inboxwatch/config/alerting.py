"""Configuration of alert notification: the routing tree, time windows, inhibition, escalation and flap detection.

Settings a route leaves unset (None) are inherited from its parent; the
top-level `[route]` table is the root, and `[[routes]]` are its children.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inboxwatch.model.matchers import MatcherError, parse_matcher
from inboxwatch.model.timewindows import parse_time_range, parse_weekdays
from inboxwatch.config.durations import Duration

# Labels the `match` and `match_re` tables of a route may name; `matchers`
# take any label.
RouteLabel = Literal["severity", "provider", "tenant", "rule", "sending_ip", "sending_domain"]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def check_matchers(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            parse_matcher(value)
        except MatcherError as exc:
            raise ValueError(str(exc)) from None
    return values


def check_at_least_a_minute(name: str, value: timedelta | None) -> timedelta | None:
    if value is not None and value < timedelta(minutes=1):
        raise ValueError("%s %s is shorter than 1m: use 1m or more" % (name, value))
    return value


class RouteSettings(Section):
    """One route of the tree: `[route]`, a `[[routes]]` entry, or a nested `[[routes.routes]]` entry.

    An alert matches a route when every condition holds: each `matchers`
    entry (such as `severity="critical"`, `provider=~"gmail|yahoo"`), each
    `match` label equal, each `match_re` pattern matching the whole value.
    """

    matchers: tuple[str, ...] = ()
    match: dict[RouteLabel, str] = Field(default_factory=dict)
    match_re: dict[RouteLabel, str] = Field(default_factory=dict)
    channels: tuple[str, ...] | None = None
    group_by: tuple[str, ...] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    continue_: bool = Field(default=False, alias="continue")
    active_time_windows: tuple[str, ...] | None = None
    mute_time_windows: tuple[str, ...] | None = None
    escalation_policy: str | None = None
    routes: tuple[RouteSettings, ...] = ()

    @field_validator("matchers")
    @classmethod
    def check_route_matchers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_matchers(value)

    @field_validator("match_re")
    @classmethod
    def check_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError("invalid regular expression %r for label %s: %s" % (pattern, label, exc)) from None
        return value

    @field_validator("repeat_interval", "group_interval")
    @classmethod
    def check_intervals(cls, value: timedelta | None, info) -> timedelta | None:
        return check_at_least_a_minute(info.field_name, value)


class TimeWindowSettings(Section):
    """One `[[time_windows]]` entry: weekdays and time ranges in a time zone, named for routes to use."""

    name: str = Field(min_length=1, max_length=128)
    time_zone: str = "UTC"
    weekdays: tuple[str, ...] = ()
    times: tuple[str, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def check_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone %r: expected an IANA name such as Europe/Berlin or UTC" % value) from None
        return value

    @field_validator("weekdays")
    @classmethod
    def check_weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_weekdays(value)
        return value

    @field_validator("times")
    @classmethod
    def check_times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for spec in value:
            parse_time_range(spec)
        return value


class InhibitRuleSettings(Section):
    """One `[[inhibit_rules]]` entry: a firing source alert mutes target alerts while the `equal` labels agree."""

    source_matchers: tuple[str, ...] = Field(min_length=1)
    target_matchers: tuple[str, ...] = Field(min_length=1)
    equal: tuple[str, ...] = ()

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def check_rule_matchers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_matchers(value)


class EscalationLevelSettings(Section):
    after: Duration
    channels: tuple[str, ...] = Field(min_length=1)


class EscalationPolicySettings(Section):
    """One `[[escalation_policies]]` entry: levels notified while a firing alert stays unacknowledged."""

    name: str = Field(min_length=1, max_length=128)
    levels: tuple[EscalationLevelSettings, ...] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def check_order(cls, value: tuple[EscalationLevelSettings, ...]) -> tuple[EscalationLevelSettings, ...]:
        for earlier, later in zip(value, value[1:]):
            if later.after <= earlier.after:
                raise ValueError(
                    "escalation levels must come in increasing order of `after`: %s follows %s" % (later.after, earlier.after)
                )
        return value


class AlertingSettings(Section):
    """The `[alerting]` section: flap detection and how muted alerts are treated."""

    flap_max_changes: int = Field(default=6, ge=0)
    flap_window: Duration = timedelta(hours=1)
    send_resolved_after_mute: bool = True
    critical_inhibits_warning: bool = True


def route_channel_errors(route: RouteSettings, known: list[str], path: str) -> list[str]:
    """List the unknown channel names a route tree refers to, with their key paths."""
    errors = []
    for channel in route.channels or ():
        if channel not in known:
            errors.append("%s.channels names unknown channel %r" % (path, channel))
    for index, child in enumerate(route.routes):
        errors.extend(route_channel_errors(child, known, "%s.routes[%d]" % (path, index)))
    return errors


def route_names(route: RouteSettings, path: str) -> list[tuple[str, RouteSettings]]:
    """List every route of a tree with its key path, root first."""
    found = [(path, route)]
    for index, child in enumerate(route.routes):
        found.extend(route_names(child, "%s.routes[%d]" % (path, index)))
    return found
