import pytest
from pydantic import TypeAdapter, ValidationError

from inboxwatch.config.channels import (
    ChannelSettings,
    EmailChannelSettings,
    WebhookChannelSettings,
    index_channels,
)
from inboxwatch.errors import ConfigError

CHANNELS = TypeAdapter(list[ChannelSettings])

EMAIL = {
    "name": "ops-email",
    "type": "email",
    "host": "smtp.example.com",
    "from_address": "inboxwatch@example.com",
    "to": ["postmaster@example.com"],
}
WEBHOOK = {"name": "chat", "type": "webhook", "url": "https://hooks.example.com/inboxwatch"}


def error_text(entry) -> str:
    with pytest.raises(ValidationError) as caught:
        CHANNELS.validate_python([entry])
    return str(caught.value)


def test_channels_type_selects_model():
    email, webhook = CHANNELS.validate_python([EMAIL, WEBHOOK])
    assert isinstance(email, EmailChannelSettings)
    assert isinstance(webhook, WebhookChannelSettings)


@pytest.mark.parametrize(
    "overrides, port",
    [
        pytest.param({}, 587, id="starttls-submission"),
        pytest.param({"use_tls": True}, 465, id="implicit-tls"),
        pytest.param({"starttls": False}, 25, id="plain"),
        pytest.param({"port": 2525}, 2525, id="explicit"),
    ],
)
def test_email_port_default_follows_tls_mode(overrides, port):
    (settings,) = CHANNELS.validate_python([{**EMAIL, **overrides}])
    assert settings.port == port


def test_email_use_tls_turns_starttls_off():
    (settings,) = CHANNELS.validate_python([{**EMAIL, "use_tls": True}])
    assert settings.starttls is False


def test_email_both_tls_modes_rejected():
    text = error_text({**EMAIL, "use_tls": True, "starttls": True})
    assert "starttls and use_tls are both true" in text


def test_email_password_without_username_rejected():
    assert "username is missing" in error_text({**EMAIL, "password_env": "SMTP_PASSWORD"})


def test_email_username_without_password_rejected():
    assert "has no password" in error_text({**EMAIL, "username": "alerts"})


def test_email_invalid_recipient_names_value():
    text = error_text({**EMAIL, "to": ["postmaster"]})
    assert "'postmaster'" in text
    assert "user@example.com" in text


def test_email_password_env_resolved_from_environment():
    (settings,) = CHANNELS.validate_python([{**EMAIL, "username": "alerts", "password_env": "SMTP_PASSWORD"}])
    assert settings.resolve_password({"SMTP_PASSWORD": "s3cret"}) == "s3cret"


def test_email_password_env_unset_names_variable():
    (settings,) = CHANNELS.validate_python([{**EMAIL, "username": "alerts", "password_env": "SMTP_PASSWORD"}])
    with pytest.raises(ConfigError, match="SMTP_PASSWORD"):
        settings.resolve_password({})


def test_email_password_hidden_in_repr():
    (settings,) = CHANNELS.validate_python([{**EMAIL, "username": "alerts", "password": "plain-s3cret"}])
    assert "plain-s3cret" not in repr(settings)


def test_webhook_non_http_url_rejected():
    assert "ftp://hooks.example.com" in error_text({**WEBHOOK, "url": "ftp://hooks.example.com/x"})


def test_webhook_reserved_header_rejected():
    text = error_text({**WEBHOOK, "headers": {"X-Inboxwatch-Signature": "forged"}})
    assert "set by inboxwatch" in text


def test_webhook_secret_and_secret_env_rejected():
    assert "keep only secret_env" in error_text({**WEBHOOK, "secret": "a", "secret_env": "B"})


def test_channel_name_with_space_rejected():
    assert "invalid channel name 'ops email'" in error_text({**WEBHOOK, "name": "ops email"})


def test_channel_unknown_type_rejected():
    assert "sms" in error_text({**WEBHOOK, "type": "sms"})


def test_index_channels_duplicate_name_rejected():
    channels = CHANNELS.validate_python([WEBHOOK, WEBHOOK])
    with pytest.raises(ConfigError, match="'chat' is used by more than one channel"):
        index_channels(channels)
