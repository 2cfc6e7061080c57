"""The `[webhooks.<esp>]` and `[service]` TLS settings: what is accepted and what is rejected with which message."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from inboxwatch.config.models import Config
from inboxwatch.errors import ConfigError

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-events"


def load(webhooks: dict) -> Config:
    return Config.model_validate({"webhooks": webhooks})


@pytest.mark.parametrize(
    "webhooks, message",
    [
        ({"gmail": {"secret": "x"}}, "unknown ESP 'gmail'"),
        ({"sendgrid": {}}, "webhooks.sendgrid: no secret"),
        ({"ses": {}}, "topic_arns is empty"),
        ({"ses": {"topic_arns": ["ses-events"]}}, "invalid topic ARN"),
        ({"postmark": {"username": "hook"}}, "webhooks.postmark: no credentials"),
        ({"mailgun": {"secret": "a", "secret_env": "B"}}, "keep only secret_env"),
        ({"sparkpost": {"username": "u", "password": "a", "password_env": "B"}}, "keep only password_env"),
        ({"resend": {"secret": "whsec_x", "signing_key": "y"}}, "signing_key"),
    ],
    ids=["unknown-esp", "no-secret", "ses-no-topics", "bad-arn", "basic-no-password", "two-secrets", "two-passwords", "unknown-key"],
)
def test_webhooks_config_rejected(webhooks, message):
    with pytest.raises(ValidationError) as caught:
        load(webhooks)
    assert message in str(caught.value)


def test_webhooks_config_accepted():
    config = load(
        {
            "ses": {"topic_arns": [TOPIC], "tenant": "shop"},
            "postmark": {"username": "hook", "password_env": "PM_PASS"},
            "sparkpost": {"secret_env": "SP_TOKEN"},
            "mailgun": {"secret_env": "MG_KEY", "max_age": "10m"},
        }
    )
    assert config.webhooks["ses"].topic_arns == (TOPIC,)
    assert config.webhooks["mailgun"].max_age.total_seconds() == 600


def test_webhooks_secret_env_resolved():
    settings = load({"mailgun": {"secret_env": "MG_KEY"}}).webhooks["mailgun"]
    assert settings.resolve_secret("mailgun", {"MG_KEY": "k-1"}) == "k-1"
    with pytest.raises(ConfigError, match="MG_KEY"):
        settings.resolve_secret("mailgun", {})


def test_service_tls_files_accepted():
    config = Config.model_validate({"service": {"tls_cert_file": "/etc/inboxwatch/cert.pem", "tls_key_file": "/etc/inboxwatch/key.pem"}})
    assert config.service.tls_cert_file == "/etc/inboxwatch/cert.pem"
