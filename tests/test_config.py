"""Configuration loading: defaults, merging with the built-in rules, and error messages."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from inboxwatch.cli.init import starter_text
from inboxwatch.config import default_config, load_config
from inboxwatch.config.durations import format_duration, parse_duration
from inboxwatch.errors import ConfigError
from inboxwatch.model.providers import Provider


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inboxwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_default_config_has_builtin_rules():
    config = default_config()

    assert sorted(config.rules) == ["bounce_rate", "complaint_rate", "delivery_rate", "hard_bounce_rate"]
    delivery = config.rules["delivery_rate"]
    assert (delivery.warning, delivery.critical) == (0.95, 0.90)
    assert delivery.providers[Provider.GMAIL].critical == 0.95
    assert config.rules["bounce_rate"].providers[Provider.MICROSOFT].warning == 0.03
    assert config.rules["complaint_rate"].window == timedelta(minutes=10)
    assert config.store.recipient_retention == "domain"


def test_starter_file_validates(tmp_path):
    config = load_config(write(tmp_path, starter_text()))

    assert config.tenant == "default"
    assert config.store.url == "sqlite:///%s" % (tmp_path.resolve() / "inboxwatch.db")
    assert "delivery_rate" in config.rules


# A commented example line of the starter: "# " and then a table header or a
# `key = value` line. Explanations never start with either.
STARTER_EXAMPLE_LINE = re.compile(r"^# (\[.*\]|[A-Za-z0-9_.-]+ = .*)$")


def uncomment_examples(text: str) -> str:
    return "\n".join(line[2:] if STARTER_EXAMPLE_LINE.match(line) else line for line in text.splitlines())


def test_starter_examples_all_validate(tmp_path):
    config = load_config(write(tmp_path, uncomment_examples(starter_text())))

    assert len(config.sources.logs) == 1
    assert len(config.sources.folders) == 1
    assert len(config.sources.maildirs) == 1
    assert config.sources.imap[0].password_env == "INBOXWATCH_IMAP_PASSWORD"
    assert sorted(config.webhooks) == ["postmark", "sendgrid", "ses"]
    assert "gmail_deferrals" in config.rules
    assert config.anomaly.group_by == ("provider", "sending_ip")
    assert config.checks is not None
    assert config.checks.dkim_selectors == ("s1",)
    assert config.dmarc.known_spf_includes == ("_spf.google.com",)
    assert config.tlsrpt.min_sessions == 100
    assert config.reputation.snds is not None
    assert config.reputation.postmaster is not None
    assert config.reputation.senderscore is not None
    assert "bounce_rate" in config.grades.metrics
    assert [channel.name for channel in config.channels] == ["ops-email", "chat"]
    assert config.route.channels == ("ops-email",)
    assert len(config.routes) == 2
    assert config.routes[0].routes[0].active_time_windows == ("office-hours",)
    assert [window.name for window in config.time_windows] == ["office-hours", "nights"]
    assert len(config.inhibit_rules) == 1
    assert len(config.escalation_policies[0].levels) == 2


def test_rule_override_changes_only_given_keys(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[rules.bounce_rate]
warning = "4%"
min_volume = 250

[rules.bounce_rate.providers.yahoo]
warning = 0.02
critical = 0.06
""",
        )
    )

    rule = config.rules["bounce_rate"]
    assert rule.warning == pytest.approx(0.04)
    assert rule.critical == 0.10
    assert rule.min_volume == 250
    assert set(rule.providers) == {Provider.MICROSOFT, Provider.YAHOO}


def test_new_rule_and_disabled_rule(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[rules.complaint_rate]
enabled = false

[rules.deferrals]
metric = "deferral_rate"
direction = "above"
warning = "10%"
window = "15m"
for = "1h30m"
group_by = ["sending_ip"]
use_wilson = true
""",
        )
    )

    assert "complaint_rate" not in config.enabled_rules()
    deferrals = config.rules["deferrals"]
    assert deferrals.critical is None
    assert deferrals.for_ == timedelta(hours=1, minutes=30)
    assert deferrals.group_by == ("sending_ip",)


def test_relative_paths_start_at_config_folder(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[store]
url = "data/store.db"

[[sources.logs]]
path = "logs/mail.log"
kind = "postfix"
tenant = "acme"

[[sources.folders]]
path = "/srv/drop"
""",
        )
    )

    folder = tmp_path.resolve()
    assert config.store.url == str(folder / "data/store.db")
    assert config.sources.logs[0].path == str(folder / "logs/mail.log")
    assert config.sources.logs[0].tenant == "acme"
    assert config.sources.folders[0].path == "/srv/drop"


def test_postgres_url_is_unchanged(tmp_path):
    config = load_config(write(tmp_path, '[store]\nurl = "postgresql://inboxwatch@127.0.0.1/inboxwatch"\n'))

    assert config.store.url == "postgresql://inboxwatch@127.0.0.1/inboxwatch"


def test_channels_and_routes_load(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
[[channels]]
name = "ops"
type = "webhook"
url = "http://127.0.0.1:9000/hook"

[[routes]]
match = { severity = "critical" }
match_re = { provider = "gmail|microsoft" }
channels = ["ops"]
repeat_interval = "1h"
continue = true
""",
        )
    )

    route = config.routes[0]
    assert route.continue_ is True
    assert route.repeat_interval == timedelta(hours=1)
    assert config.channels[0].name == "ops"


# Each case: a file body, then the parts its error message must contain.
INVALID_FILES = [
    pytest.param(
        '[rules.delivery_rate]\ncritical = 1.5\n',
        ["rules.delivery_rate.critical", "1.5", "fraction from 0 to 1"],
        id="rate-out-of-range",
    ),
    pytest.param(
        '[rules.delivery_rate]\nwarning = "lots"\n',
        ["rules.delivery_rate.warning", "'lots'", "fraction"],
        id="rate-wrong-type",
    ),
    pytest.param(
        '[store]\nrecipient_retention = "everything"\n',
        ["store.recipient_retention", "'everything'", "'full', 'domain' or 'none'"],
        id="retention-not-allowed",
    ),
    pytest.param(
        '[store]\nretention_days = "ninety"\n',
        ["store.retention_days", "'ninety'", "integer"],
        id="wrong-type",
    ),
    pytest.param(
        '[store]\nretention_dayz = 30\n',
        ["store.retention_dayz", "unknown key", "did you mean 'retention_days'"],
        id="unknown-key-suggestion",
    ),
    pytest.param(
        '[rules.bounce_rate]\ncritcal = 0.2\n',
        ["rules.bounce_rate.critcal", "did you mean 'critical'"],
        id="unknown-rule-key",
    ),
    pytest.param(
        '[rules.bounce_rate]\nfor = "5 minutes"\n',
        ["rules.bounce_rate.for", "'5 minutes'", '"5m"'],
        id="bad-duration",
    ),
    pytest.param(
        '[rules.delivery_rate.providers.hotmail]\nwarning = 0.9\n',
        ["rules.delivery_rate.providers.hotmail", "'microsoft'"],
        id="unknown-provider",
    ),
    pytest.param(
        '[rules.delivery_rate]\nwarning = 0.90\ncritical = 0.95\n',
        ["rules.delivery_rate", "critical 0.95 is above warning 0.9"],
        id="levels-reversed",
    ),
    pytest.param(
        '[rules.mine]\nmetric = "open_rate"\ndirection = "below"\nwarning = 0.2\n',
        ["rules.mine.metric", "'open_rate'", "'delivery_rate'"],
        id="unknown-metric",
    ),
    pytest.param(
        '[rules.mine]\ndirection = "above"\nwarning = 0.2\n',
        ["rules.mine.metric", "missing required key"],
        id="new-rule-without-metric",
    ),
    pytest.param(
        '[[channels]]\nname = "ops"\ntype = "webhook"\nurl = "http://127.0.0.1/h"\ntimout = 3\n',
        ["channels[0].timout", "did you mean 'timeout'"],
        id="unknown-channel-key",
    ),
    pytest.param(
        '[[channels]]\nname = "ops"\ntype = "pager"\n',
        ["channels[0]", "'pager'"],
        id="unknown-channel-type",
    ),
    pytest.param(
        '[[routes]]\nchannels = ["nowhere"]\n',
        ["routes[0].channels", "'nowhere'"],
        id="route-unknown-channel",
    ),
    pytest.param(
        '[[routes]]\nchannels = ["x"]\nmatch = { colour = "red" }\n',
        ["routes[0].match.colour", "'colour'"],
        id="route-unknown-label",
    ),
    pytest.param(
        'tenant = "Big Corp"\n',
        ["tenant", "'Big Corp'", "lowercase"],
        id="bad-tenant-name",
    ),
]


@pytest.mark.parametrize(("text", "expected_parts"), INVALID_FILES)
def test_config_error_names_key_and_value(tmp_path, text, expected_parts):
    message = load_error(tmp_path, text)

    for part in expected_parts:
        assert part in message


def test_config_error_missing_file_names_path(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")

    assert str(tmp_path / "absent.toml") in str(caught.value)
    assert "not found" in str(caught.value)


def test_config_error_syntax_names_file_and_line(tmp_path):
    message = load_error(tmp_path, 'tenant = "default"\n\n[store\nurl = "x"\n')

    assert "inboxwatch.toml" in message
    assert "line 3" in message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), (" 10M ", 600)],
    ids=["seconds", "minutes", "hours", "combined", "days", "spaces-and-case"],
)
def test_duration_parse(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "m5", "5 minutes", "1.5h", "-5m"])
def test_duration_parse_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_duration_format_round_trips():
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert parse_duration(format_duration(timedelta(seconds=90061))) == timedelta(seconds=90061)


def test_sender_instance_ips_reach_ingest_options(tmp_path):
    from inboxwatch.config.loader import load_config
    from inboxwatch.service.ingest import IngestOptions

    path = tmp_path / "inboxwatch.toml"
    path.write_text('[sender]\ninstance_ips = { "postfix-out1" = " 203.0.113.10 ", "postfix-out2" = "2001:db8::0:7" }\n')
    options = IngestOptions.from_config(load_config(path))
    assert options.instance_ips == {"postfix-out1": "203.0.113.10", "postfix-out2": "2001:db8::7"}


def test_sender_instance_ips_invalid_address_named(tmp_path):
    from inboxwatch.config.loader import load_config
    from inboxwatch.errors import ConfigError

    path = tmp_path / "inboxwatch.toml"
    path.write_text('[sender]\ninstance_ips = { "postfix-out1" = "203.0.113.999" }\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "invalid IP address '203.0.113.999' for instance 'postfix-out1'" in str(raised.value)


def test_source_kind_unknown_rejected(tmp_path):
    path = tmp_path / "inboxwatch.toml"
    path.write_text('[[sources.logs]]\npath = "/var/log/mail.log"\nkind = "postfixx"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert "sources.logs[0].kind" in str(raised.value)
    assert "unknown input kind 'postfixx'" in str(raised.value)
