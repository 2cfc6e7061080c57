"""Validation of the Slack, PagerDuty, Twilio and Apprise channel settings and the template keys."""

import pytest
from pydantic import TypeAdapter, ValidationError

from inboxwatch.config.channels import (
    PAGERDUTY_BASE_URL,
    TWILIO_BASE_URL,
    AppriseChannelSettings,
    ChannelSettings,
    PagerDutyChannelSettings,
    SlackChannelSettings,
    TwilioChannelSettings,
    WebhookChannelSettings,
)
from inboxwatch.config.loader import validate_config
from inboxwatch.errors import ConfigError

CHANNELS = TypeAdapter(list[ChannelSettings])

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2

SLACK = {"name": "chat", "type": "slack", "url": "https://hooks.slack.com/services/T0/B0/XXXX"}
PAGERDUTY = {"name": "pager", "type": "pagerduty", "routing_key_env": "PD_KEY"}
TWILIO = {
    "name": "sms",
    "type": "twilio",
    "account_sid": ACCOUNT_SID,
    "auth_token_env": "TWILIO_TOKEN",
    "from_number": "+14155550100",
    "to": ["+14155550111"],
}
APPRISE = {"name": "other", "type": "apprise", "urls": ["tgram://bottoken/chatid"]}


def error_text(entry) -> str:
    with pytest.raises(ValidationError) as caught:
        CHANNELS.validate_python([entry])
    return str(caught.value)


def test_channel_types_select_models():
    slack, pager, sms, other = CHANNELS.validate_python([SLACK, PAGERDUTY, TWILIO, APPRISE])
    assert isinstance(slack, SlackChannelSettings)
    assert isinstance(pager, PagerDutyChannelSettings)
    assert isinstance(sms, TwilioChannelSettings)
    assert isinstance(other, AppriseChannelSettings)


def test_channel_defaults_name_real_providers():
    _slack, pager, sms, _other = CHANNELS.validate_python([SLACK, PAGERDUTY, TWILIO, APPRISE])
    assert pager.base_url == PAGERDUTY_BASE_URL
    assert sms.base_url == TWILIO_BASE_URL
    assert sms.min_severity == "critical"


def test_slack_settings_hide_url_when_printed():
    (slack,) = CHANNELS.validate_python([SLACK])
    assert "XXXX" not in repr(slack)


@pytest.mark.parametrize(
    "entry, expected",
    [
        pytest.param({**SLACK, "url": None}, "url is missing", id="slack-no-url"),
        pytest.param({**SLACK, "url_env": "SLACK_URL"}, "url and url_env are both set", id="slack-two-urls"),
        pytest.param({**SLACK, "url": "ftp://hooks.example.com/x"}, "invalid slack url", id="slack-not-http"),
        pytest.param({**SLACK, "flavor": "teams"}, "flavor", id="slack-unknown-flavor"),
        pytest.param({**PAGERDUTY, "routing_key_env": None}, "routing_key is missing", id="pagerduty-no-key"),
        pytest.param({**PAGERDUTY, "base_url": "events.pagerduty.com"}, "invalid base_url", id="pagerduty-bad-base"),
        pytest.param({**TWILIO, "account_sid": "AC123"}, "invalid account_sid", id="twilio-short-sid"),
        pytest.param({**TWILIO, "to": ["4155550111"]}, "expected E.164", id="twilio-no-plus"),
        pytest.param({**TWILIO, "to": []}, "to", id="twilio-no-recipient"),
        pytest.param({**TWILIO, "from_number": None}, "exactly one of from_number", id="twilio-no-sender"),
        pytest.param({**TWILIO, "from_number": "not a sender!"}, "invalid from_number", id="twilio-bad-sender"),
        pytest.param({**TWILIO, "min_severity": "page"}, "min_severity", id="twilio-unknown-severity"),
        pytest.param({**TWILIO, "auth_token_env": None}, "auth_token is missing", id="twilio-no-token"),
        pytest.param({**APPRISE, "urls": []}, "urls is missing", id="apprise-no-urls"),
        pytest.param({**APPRISE, "urls": ["not a url"]}, "invalid Apprise URL", id="apprise-no-schema"),
        pytest.param({**SLACK, "external_url": "dashboard"}, "invalid external_url", id="external-url-not-http"),
        pytest.param({**SLACK, "extra": 1}, "extra", id="unknown-key"),
    ],
)
def test_channel_settings_reject_invalid(entry, expected):
    assert expected in error_text(entry)


def test_twilio_alphanumeric_sender_accepted():
    (sms,) = CHANNELS.validate_python([{**TWILIO, "from_number": "Inboxwatch"}])
    assert sms.from_number == "Inboxwatch"


def test_secrets_read_from_environment():
    _slack, pager, sms, _other = CHANNELS.validate_python([SLACK, PAGERDUTY, TWILIO, APPRISE])
    assert pager.resolve_routing_key({"PD_KEY": "pd-secret"}) == "pd-secret"
    assert sms.resolve_auth_token({"TWILIO_TOKEN": "tw-secret"}) == "tw-secret"
    with pytest.raises(ConfigError, match="PD_KEY"):
        pager.resolve_routing_key({})


def test_apprise_urls_env_splits_on_whitespace():
    settings = AppriseChannelSettings(name="other", urls_env="APPRISE_URLS")
    urls = settings.resolve_urls({"APPRISE_URLS": "json://a.example/x  tgram://token/chat"})
    assert urls == ["json://a.example/x", "tgram://token/chat"]


def test_slack_url_env_must_be_http():
    settings = SlackChannelSettings(name="chat", url_env="SLACK_URL")
    with pytest.raises(ConfigError, match="invalid url"):
        settings.resolve_url({"SLACK_URL": "hooks.slack.com/services/x"})


def test_webhook_format_defaults_to_inboxwatch():
    assert WebhookChannelSettings(name="w", url="https://example.com/h").format == "inboxwatch"
    assert "format" in error_text({"name": "w", "type": "webhook", "url": "https://example.com/h", "format": "v9"})


def test_slack_invalid_url_error_hides_url():
    entry = {**SLACK, "url": "ftp://hooks.example.com/services/T0/B0/SECRETTOKEN"}
    with pytest.raises(ConfigError) as caught:
        validate_config({"channels": [entry]}, source="inboxwatch.toml")
    assert "invalid slack url" in str(caught.value)
    assert "SECRETTOKEN" not in str(caught.value)
