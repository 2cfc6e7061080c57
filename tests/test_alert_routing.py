"""Label matchers, the routing tree built from configuration, and time windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from inboxwatch.alerting.routing import route_alert
from inboxwatch.config.models import Config
from inboxwatch.model.matchers import MatcherError, parse_matcher
from inboxwatch.model.timewindows import window_blocks
from inboxwatch.service.alert_policy import alert_policy, routing_tree

CHANNELS = [{"name": name, "type": "webhook", "url": "http://127.0.0.1:9/%s" % name} for name in ("pager", "chat", "email", "sms")]


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        # Equality, with and without quotes.
        ('severity="critical"', {"severity": "critical"}, True),
        ("severity=critical", {"severity": "warning"}, False),
        # A missing label compares as "".
        ('sending_ip!=""', {}, False),
        # Regular expressions match the whole value.
        ('provider=~"gmail|yahoo"', {"provider": "gmail"}, True),
        ('provider=~"gmail"', {"provider": "gmailx"}, False),
        ('provider!~"gmail|yahoo"', {"provider": "microsoft"}, True),
    ],
    ids=["equal", "equal-unquoted-miss", "missing-label", "regex", "regex-whole-value", "not-regex"],
)
def test_matcher_matches(text, labels, expected):
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["severity", "1abc=x", 'provider=~"("'], ids=["no-operator", "bad-name", "bad-regex"])
def test_matcher_rejects_invalid(text):
    with pytest.raises(MatcherError, match="invalid"):
        parse_matcher(text)


TREE = {
    "channels": CHANNELS,
    "route": {"channels": ["email"], "group_by": ["tenant", "rule"], "group_wait": "30s"},
    "routes": [
        {
            "matchers": ['severity="critical"'],
            "channels": ["pager"],
            "group_wait": "10s",
            "continue": True,
            "routes": [{"matchers": ['tenant="acme"'], "channels": ["sms"]}],
        },
        {"matchers": ['provider=~"gmail|microsoft"'], "channels": ["chat"], "repeat_interval": "1h"},
    ],
}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # Critical: the pager route, and `continue` goes on to the chat route.
        ({"severity": "critical", "provider": "gmail", "tenant": "default"}, ["routes[0]", "routes[1]"]),
        # A nested route takes acme's criticals; its parent continues.
        ({"severity": "critical", "provider": "gmail", "tenant": "acme"}, ["routes[0].routes[0]", "routes[1]"]),
        # Warnings for Microsoft only match the chat route.
        ({"severity": "warning", "provider": "microsoft", "tenant": "default"}, ["routes[1]"]),
        # Nothing matches: the root takes it.
        ({"severity": "warning", "provider": "yahoo", "tenant": "default"}, ["default"]),
    ],
    ids=["continue", "nested", "single", "root-fallback"],
)
def test_routing_tree_matches(labels, expected):
    root = routing_tree(Config.model_validate(TREE))

    assert [route.route for route in route_alert(labels, root)] == expected


def test_routing_tree_inherits_settings():
    root = routing_tree(Config.model_validate(TREE))
    labels = {"severity": "critical", "provider": "gmail", "tenant": "acme"}

    nested, chat = route_alert(labels, root)

    # The nested route sets only its channels; the rest comes from its parent and the root.
    assert nested.channels == ("sms",)
    assert nested.group_wait == timedelta(seconds=10)
    assert nested.group_by == ("tenant", "rule")
    assert chat.repeat_interval == timedelta(hours=1)
    assert chat.group_wait == timedelta(seconds=30)


def test_routing_root_defaults_to_every_channel():
    root = routing_tree(Config.model_validate({"channels": CHANNELS}))

    (only,) = route_alert({"severity": "warning"}, root)
    assert only.route == "default"
    assert only.channels == ("pager", "chat", "email", "sms")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"routes": [{"channels": ["nope"]}]}, "routes[0].channels names unknown channel 'nope'"),
        ({"routes": [{"mute_time_windows": ["nights"]}]}, "routes[0] names unknown time window 'nights'"),
        ({"routes": [{"escalation_policy": "ops"}]}, "routes[0] names unknown escalation policy 'ops'"),
        ({"time_windows": [{"name": "x", "time_zone": "Mars/Olympus"}]}, "unknown time zone"),
        ({"time_windows": [{"name": "x", "weekdays": ["funday"]}]}, "invalid weekday"),
        ({"rules": {"bounce_rate": {"resolve_below": "6%"}}}, "resolve_below 0.06 is above the lowest level"),
    ],
    ids=["channel", "window", "policy", "time-zone", "weekday", "exit-level"],
)
def test_config_rejects_bad_references(config, message):
    rules = config.pop("rules", {})
    for name, settings in rules.items():
        config.setdefault("rules", {})[name] = {"metric": "bounce_rate", "direction": "above", "warning": "5%", **settings}
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("[", r"\[").replace("]", r"\]")):
        Config.model_validate({"channels": CHANNELS, **config})


WINDOWS = {
    "channels": CHANNELS,
    "time_windows": [
        {"name": "office", "time_zone": "Europe/Berlin", "weekdays": ["monday:friday"], "times": ["09:00-17:00"]},
        {"name": "nights", "time_zone": "Europe/Berlin", "times": ["22:00-06:00"]},
    ],
}


@pytest.mark.parametrize(
    ("moment", "active", "mute", "expected"),
    [
        # Monday 10:00 in Berlin (09:00 UTC in March) is office time.
        (datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), ["office"], [], None),
        # Monday 17:00 in Berlin is just past the end of the range.
        (datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc), ["office"], [], "outside active time windows office"),
        # Saturday is not an office day.
        (datetime(2026, 3, 7, 9, 0, tzinfo=timezone.utc), ["office"], [], "outside active time windows office"),
        # 02:00 in Berlin falls in a range that runs past midnight.
        (datetime(2026, 3, 3, 1, 0, tzinfo=timezone.utc), [], ["nights"], "mute time window nights"),
        # Noon is outside the night range.
        (datetime(2026, 3, 3, 11, 0, tzinfo=timezone.utc), [], ["nights"], None),
    ],
    ids=["office-open", "office-closed-at-end", "weekend", "night-after-midnight", "noon"],
)
def test_time_windows_block(moment, active, mute, expected):
    policy = alert_policy(Config.model_validate(WINDOWS))

    assert window_blocks(active, mute, policy.windows, moment) == expected
