"""Building the alerting policy (routing tree, windows, inhibition, escalation, flapping) from the configuration."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from inboxwatch.alerting.cycle import Policy
from inboxwatch.alerting.flapping import FlapSettings
from inboxwatch.alerting.inhibition import CRITICAL_MUTES_WARNING, InhibitRule
from inboxwatch.alerting.routing import ROOT_ROUTE, Route
from inboxwatch.config.alerting import RouteSettings
from inboxwatch.config.models import Config
from inboxwatch.model.alerts import EscalationLevel, EscalationSnapshot
from inboxwatch.model.matchers import EQUAL, REGEX, make_matcher, parse_matchers
from inboxwatch.model.timewindows import TimeWindow, parse_time_range, parse_weekdays


def alert_policy(config: Config, *, notify: bool = True) -> Policy:
    """Build the policy one alerting cycle applies. With `notify` false, nothing is notified (replays)."""
    inhibit_rules = [
        InhibitRule(parse_matchers(rule.source_matchers), parse_matchers(rule.target_matchers), tuple(rule.equal))
        for rule in config.inhibit_rules
    ]
    if config.alerting.critical_inhibits_warning:
        inhibit_rules.append(CRITICAL_MUTES_WARNING)
    return Policy(
        root=routing_tree(config),
        inhibit_rules=tuple(inhibit_rules),
        windows={window.name: time_window(window) for window in config.time_windows},
        escalation_policies={
            policy.name: EscalationSnapshot(
                policy.name, tuple(EscalationLevel(level.after, tuple(level.channels)) for level in policy.levels)
            )
            for policy in config.escalation_policies
        },
        flap=FlapSettings(config.alerting.flap_max_changes, config.alerting.flap_window),
        send_resolved_after_mute=config.alerting.send_resolved_after_mute,
        notify=notify,
    )


def routing_tree(config: Config) -> Route:
    """Build the root route from `[route]` with `[[routes]]` as its children, applying inheritance.

    The root sends to every channel unless `[route]` names some. Routes are
    named by their key path (`routes[0]`, `routes[0].routes[1]`), the root
    `default`.
    """
    root_settings = config.route.model_copy(update={"routes": config.route.routes + config.routes})
    base = Route(name=ROOT_ROUTE, channels=tuple(channel.name for channel in config.channels))
    return build_route(root_settings, base, ROOT_ROUTE, is_root=True)


def build_route(settings: RouteSettings, parent: Route, name: str, *, is_root: bool = False) -> Route:
    matchers = list(parse_matchers(settings.matchers))
    matchers.extend(make_matcher(label, EQUAL, value) for label, value in settings.match.items())
    matchers.extend(make_matcher(label, REGEX, pattern) for label, pattern in settings.match_re.items())
    route = Route(
        name=name,
        channels=pick(settings.channels, parent.channels),
        matchers=tuple(matchers),
        group_by=pick(settings.group_by, parent.group_by),
        group_wait=pick(settings.group_wait, parent.group_wait),
        group_interval=pick(settings.group_interval, parent.group_interval),
        repeat_interval=pick(settings.repeat_interval, parent.repeat_interval),
        continue_=settings.continue_,
        active_windows=pick(settings.active_time_windows, parent.active_windows),
        mute_windows=pick(settings.mute_time_windows, parent.mute_windows),
        escalation_policy=pick(settings.escalation_policy, parent.escalation_policy),
    )
    prefix = "" if is_root else name + "."
    children = tuple(
        build_route(child, route, "%sroutes[%d]" % (prefix, index)) for index, child in enumerate(settings.routes)
    )
    return Route(**{**route.__dict__, "routes": children})


def pick(value, inherited):
    """Return the route's own setting, or the parent's when the route leaves it unset (None)."""
    if value is None:
        return inherited
    return value


def time_window(settings) -> TimeWindow:
    return TimeWindow(
        name=settings.name,
        time_zone=ZoneInfo(settings.time_zone),
        weekdays=parse_weekdays(settings.weekdays),
        ranges=tuple(parse_time_range(spec) for spec in settings.times),
    )
