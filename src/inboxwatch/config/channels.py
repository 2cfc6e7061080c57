"""Settings of the notification channels, one model per channel type.

Each channel is a `[[channels]]` table in the configuration file, and its `type`
key selects the model. A new channel type is a new subclass of
`ChannelSettingsBase` with its own `type` literal, added to the
`ChannelSettings` union.

Secrets may be written into the file (`password`, `secret`, `routing_key`,
`auth_token`, and the Slack and Apprise URLs, which carry tokens) but are
better kept in the environment and named here (`password_env`, `secret_env`,
...). They are held as `SecretStr`, so printing a settings object shows `**********`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from inboxwatch.errors import ConfigError

# Channel names are stored in `outbox.channel`, a 128-character column.
CHANNEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

# An HTTP header name is an RFC 9110 section 5.6.2 token.
HEADER_NAME_PATTERN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

# Headers the webhook channel sets itself; a configured header may not replace them.
RESERVED_WEBHOOK_HEADERS = frozenset(
    {"content-type", "content-length", "host", "idempotency-key", "x-inboxwatch-signature", "x-inboxwatch-timestamp"}
)

# Ports used when `port` is not set: 465 for implicit TLS (RFC 8314 section
# 3.3), 587 for message submission with STARTTLS (RFC 6409), 25 otherwise.
IMPLICIT_TLS_PORT = 465
SUBMISSION_PORT = 587
SMTP_PORT = 25

# Upper bound of a channel timeout in seconds. The sender's lease on an
# outbox row must outlast a send, so the lease default is sized above this.
MAX_CHANNEL_TIMEOUT = 300.0


class ChannelSettingsBase(BaseModel):
    """Fields every channel type has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    timeout: float = Field(default=30.0, gt=0, le=MAX_CHANNEL_TIMEOUT, description="Seconds per send attempt.")
    # Message templates (see notify.templates): a folder whose files replace
    # the built-in ones by name, or an inline Jinja2 source for one part.
    template_dir: Path | None = None
    subject_template: str | None = None
    body_template: str | None = None
    # Where users reach inboxwatch's dashboard; messages link to the alert there.
    external_url: str | None = None

    @field_validator("name")
    @classmethod
    def check_name(cls, value: str) -> str:
        if not CHANNEL_NAME_PATTERN.match(value):
            raise ValueError(
                "invalid channel name %r: expected 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit"
                % value
            )
        return value

    @field_validator("template_dir")
    @classmethod
    def check_template_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError("template_dir %s is not a directory: create it or remove the key" % value)
        return value

    @field_validator("external_url")
    @classmethod
    def check_external_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_http_url("external_url", value)
        return value.rstrip("/") if value else value


class EmailChannelSettings(ChannelSettingsBase):
    """An SMTP relay that alert emails are submitted to."""

    type: Literal["email"] = "email"
    host: str = Field(min_length=1)
    # When absent, `choose_tls_defaults` picks it from the TLS mode.
    port: int = Field(ge=1, le=65535)
    starttls: bool = True
    use_tls: bool = False
    verify_tls: bool = True
    ca_file: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    from_address: str
    to: list[str] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def choose_tls_defaults(cls, data: Any) -> Any:
        """Default `starttls` to false under implicit TLS, and `port` from the TLS mode."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if data.get("use_tls") and "starttls" not in data:
            data["starttls"] = False
        if data.get("port") is None:
            if data.get("use_tls"):
                data["port"] = IMPLICIT_TLS_PORT
            elif data.get("starttls", True):
                data["port"] = SUBMISSION_PORT
            else:
                data["port"] = SMTP_PORT
        return data

    @field_validator("from_address")
    @classmethod
    def check_from_address(cls, value: str) -> str:
        check_email_address(value)
        return value

    @field_validator("to")
    @classmethod
    def check_recipients(cls, value: list[str]) -> list[str]:
        for address in value:
            check_email_address(address)
        return value

    @model_validator(mode="after")
    def check_tls_and_auth(self) -> EmailChannelSettings:
        if self.starttls and self.use_tls:
            raise ValueError(
                "starttls and use_tls are both true: choose one; use_tls is implicit TLS (usually port 465), "
                "starttls upgrades a plain connection (usually port 587)"
            )
        if self.password is not None and self.password_env is not None:
            raise ValueError("password and password_env are both set: keep only password_env")
        has_password = self.password is not None or self.password_env is not None
        if has_password and not self.username:
            raise ValueError("password is set but username is missing: set username or remove the password")
        if self.username and not has_password:
            raise ValueError("username %r has no password: set password_env (or password)" % self.username)
        return self

    def resolve_password(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """Return the SMTP password from the file or the environment, or None without authentication.

        Raises ConfigError when `password_env` names a variable that is unset or empty.
        """
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_env is None:
            return None
        return read_secret_variable(self.name, "password_env", self.password_env, environ)


class WebhookChannelSettings(ChannelSettingsBase):
    """An HTTP endpoint that receives each notification as a signed JSON POST."""

    type: Literal["webhook"] = "webhook"
    url: str
    secret: SecretStr | None = None
    secret_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=10.0, gt=0, le=MAX_CHANNEL_TIMEOUT, description="Seconds per send attempt.")
    # "inboxwatch" sends inboxwatch's own JSON body; "alertmanager" sends the
    # Prometheus Alertmanager webhook payload (version 4) for receivers built for it.
    format: Literal["inboxwatch", "alertmanager"] = "inboxwatch"

    @field_validator("url")
    @classmethod
    def check_url(cls, value: str) -> str:
        check_http_url("webhook url", value)
        return value

    @field_validator("headers")
    @classmethod
    def check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for header in value:
            if not HEADER_NAME_PATTERN.match(header):
                raise ValueError("invalid header name %r: expected an HTTP token such as X-Team" % header)
            if header.lower() in RESERVED_WEBHOOK_HEADERS:
                raise ValueError(
                    "header %r is set by inboxwatch and cannot be configured; reserved: %s"
                    % (header, ", ".join(sorted(RESERVED_WEBHOOK_HEADERS)))
                )
        return value

    @model_validator(mode="after")
    def check_secret(self) -> WebhookChannelSettings:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("secret and secret_env are both set: keep only secret_env")
        return self

    def resolve_secret(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """Return the signing secret from the file or the environment, or None to send unsigned.

        Raises ConfigError when `secret_env` names a variable that is unset or empty.
        """
        if self.secret is not None:
            return self.secret.get_secret_value()
        if self.secret_env is None:
            return None
        return read_secret_variable(self.name, "secret_env", self.secret_env, environ)


class SlackChannelSettings(ChannelSettingsBase):
    """A Slack-compatible incoming webhook: Slack, Mattermost or Rocket.Chat.

    The webhook URL carries the credential in its path, so it may be kept in
    the environment (`url_env`) like a password.
    """

    type: Literal["slack"] = "slack"
    url: SecretStr | None = None
    url_env: str | None = None
    # "slack" sends Block Kit blocks with a `text` fallback; "mattermost" and
    # "rocketchat" send Markdown `text` only, which both render.
    flavor: Literal["slack", "mattermost", "rocketchat"] = "slack"
    # Overrides of the webhook's own defaults, where the service allows them.
    channel: str | None = None
    username: str | None = None
    icon_url: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=MAX_CHANNEL_TIMEOUT, description="Seconds per send attempt.")

    @model_validator(mode="after")
    def check_url(self) -> SlackChannelSettings:
        check_one_secret(self.url, self.url_env, "url", required=True)
        if self.url is not None:
            check_secret_http_url("slack url", self.url.get_secret_value())
        return self

    def resolve_url(self, environ: Mapping[str, str] = os.environ) -> str:
        """Return the webhook URL; raises ConfigError when `url_env` names an unset variable."""
        url = resolve_secret_value(self.name, "url", self.url, self.url_env, environ)
        assert url is not None
        try:
            check_secret_http_url("url from %s" % self.url_env, url)
        except ValueError as exc:
            raise ConfigError("channel %r: %s" % (self.name, exc)) from None
        return url


# PagerDuty Events API v2 (developer.pagerduty.com, "Send an Alert Event"):
# events are POSTed to /v2/enqueue on this host.
PAGERDUTY_BASE_URL = "https://events.pagerduty.com"


class PagerDutyChannelSettings(ChannelSettingsBase):
    """A PagerDuty service integration reached through the Events API v2."""

    type: Literal["pagerduty"] = "pagerduty"
    # The 32-character integration key of an Events API v2 integration.
    routing_key: SecretStr | None = None
    routing_key_env: str | None = None
    base_url: str = PAGERDUTY_BASE_URL
    # `payload.source` of triggered events; by default the first of the
    # alert's sending_ip, sending_domain, domain or ip labels, else its tenant.
    source: str | None = None
    timeout: float = Field(default=10.0, gt=0, le=MAX_CHANNEL_TIMEOUT, description="Seconds per send attempt.")

    @model_validator(mode="after")
    def check_routing_key(self) -> PagerDutyChannelSettings:
        check_one_secret(self.routing_key, self.routing_key_env, "routing_key", required=True)
        return self

    @field_validator("base_url")
    @classmethod
    def check_base_url(cls, value: str) -> str:
        check_http_url("base_url", value)
        return value.rstrip("/")

    def resolve_routing_key(self, environ: Mapping[str, str] = os.environ) -> str:
        """Return the routing key; raises ConfigError when `routing_key_env` names an unset variable."""
        key = resolve_secret_value(self.name, "routing_key", self.routing_key, self.routing_key_env, environ)
        assert key is not None
        return key


# Twilio's REST API host; messages go to /2010-04-01/Accounts/{sid}/Messages.json.
TWILIO_BASE_URL = "https://api.twilio.com"

# E.164 (ITU-T E.164): a plus sign and at most 15 digits, the first not zero.
E164_PATTERN = re.compile(r"^\+[1-9][0-9]{1,14}$")

# Twilio Account SIDs are "AC" and 32 hex digits; Messaging Service SIDs "MG" and 32.
ACCOUNT_SID_PATTERN = re.compile(r"^AC[0-9a-fA-F]{32}$")
MESSAGING_SERVICE_SID_PATTERN = re.compile(r"^MG[0-9a-fA-F]{32}$")

# Twilio's alphanumeric sender IDs are 1 to 11 letters, digits and spaces, with at least one letter.
ALPHANUMERIC_SENDER_PATTERN = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")

SEVERITY_NAMES = ("info", "warning", "critical")


class TwilioChannelSettings(ChannelSettingsBase):
    """Text messages through Twilio's Programmable Messaging REST API."""

    type: Literal["twilio"] = "twilio"
    account_sid: str
    auth_token: SecretStr | None = None
    auth_token_env: str | None = None
    # The sender: a Twilio number in E.164 form or an alphanumeric sender ID;
    # or a Messaging Service SID instead.
    from_number: str | None = None
    messaging_service_sid: str | None = None
    to: list[str] = Field(min_length=1)
    # Notifications about alerts below this severity are dropped, because
    # text messages cost money and wake people up.
    min_severity: Literal["info", "warning", "critical"] = "critical"
    base_url: str = TWILIO_BASE_URL
    timeout: float = Field(default=10.0, gt=0, le=MAX_CHANNEL_TIMEOUT, description="Seconds per send attempt.")

    @field_validator("account_sid")
    @classmethod
    def check_account_sid(cls, value: str) -> str:
        if not ACCOUNT_SID_PATTERN.match(value):
            raise ValueError("invalid account_sid %r: expected AC followed by 32 hex digits" % value)
        return value

    @field_validator("to")
    @classmethod
    def check_recipients(cls, value: list[str]) -> list[str]:
        for number in value:
            if not E164_PATTERN.match(number):
                raise ValueError("invalid phone number %r in to: expected E.164 form such as +14155550100" % number)
        return value

    @field_validator("base_url")
    @classmethod
    def check_base_url(cls, value: str) -> str:
        check_http_url("base_url", value)
        return value.rstrip("/")

    @model_validator(mode="after")
    def check_sender_and_token(self) -> TwilioChannelSettings:
        check_one_secret(self.auth_token, self.auth_token_env, "auth_token", required=True)
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("set exactly one of from_number and messaging_service_sid")
        if self.from_number is not None and not (
            E164_PATTERN.match(self.from_number) or ALPHANUMERIC_SENDER_PATTERN.match(self.from_number)
        ):
            raise ValueError(
                "invalid from_number %r: expected E.164 form such as +14155550100 or an alphanumeric sender ID"
                % self.from_number
            )
        if self.messaging_service_sid is not None and not MESSAGING_SERVICE_SID_PATTERN.match(
            self.messaging_service_sid
        ):
            raise ValueError(
                "invalid messaging_service_sid %r: expected MG followed by 32 hex digits" % self.messaging_service_sid
            )
        return self

    def resolve_auth_token(self, environ: Mapping[str, str] = os.environ) -> str:
        """Return the auth token; raises ConfigError when `auth_token_env` names an unset variable."""
        token = resolve_secret_value(self.name, "auth_token", self.auth_token, self.auth_token_env, environ)
        assert token is not None
        return token


class AppriseChannelSettings(ChannelSettingsBase):
    """One or more Apprise URLs (https://github.com/caronc/apprise), for services without a channel type here.

    Apprise URLs usually contain credentials, so they are held as secrets,
    and `urls_env` may name an environment variable with space-separated URLs.
    """

    type: Literal["apprise"] = "apprise"
    urls: list[SecretStr] = Field(default_factory=list)
    urls_env: str | None = None

    @model_validator(mode="after")
    def check_urls(self) -> AppriseChannelSettings:
        if self.urls and self.urls_env is not None:
            raise ValueError("urls and urls_env are both set: keep only urls_env")
        if not self.urls and self.urls_env is None:
            raise ValueError("urls is missing: set urls_env to the name of an environment variable (or urls)")
        for url in self.urls:
            if "://" not in url.get_secret_value():
                raise ValueError("invalid Apprise URL in urls: expected SCHEMA://..., such as json://host/path")
        return self

    def resolve_urls(self, environ: Mapping[str, str] = os.environ) -> list[str]:
        """Return the Apprise URLs; raises ConfigError when `urls_env` names an unset variable."""
        if self.urls:
            return [url.get_secret_value() for url in self.urls]
        assert self.urls_env is not None
        return read_secret_variable(self.name, "urls_env", self.urls_env, environ).split()


# The type of one `[[channels]]` entry; pydantic picks the model by `type`.
ChannelSettings = Annotated[
    Union[
        EmailChannelSettings,
        WebhookChannelSettings,
        SlackChannelSettings,
        PagerDutyChannelSettings,
        TwilioChannelSettings,
        AppriseChannelSettings,
    ],
    Field(discriminator="type"),
]


def check_http_url(key: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("invalid %s %r: expected an http:// or https:// URL with a host" % (key, value))


def check_secret_http_url(key: str, value: str) -> None:
    """Check a URL that carries a credential; the error shows only its scheme, never the URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "invalid %s (scheme %r): expected an http:// or https:// URL with a host" % (key, parts.scheme or "none")
        )


def check_one_secret(value: SecretStr | None, variable: str | None, key: str, required: bool) -> None:
    """Check that at most one of `key` and `key_env` is set, and one is when `required`."""
    if value is not None and variable is not None:
        raise ValueError("%s and %s_env are both set: keep only %s_env" % (key, key, key))
    if required and value is None and variable is None:
        raise ValueError("%s is missing: set %s_env to the name of an environment variable (or %s)" % (key, key, key))


def resolve_secret_value(
    channel: str, key: str, value: SecretStr | None, variable: str | None, environ: Mapping[str, str]
) -> str | None:
    """Return a secret written in the file, or read from the variable named by `key_env`."""
    if value is not None:
        return value.get_secret_value()
    if variable is None:
        return None
    return read_secret_variable(channel, "%s_env" % key, variable, environ)


def check_email_address(value: str) -> None:
    _display_name, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain:
        raise ValueError("invalid email address %r: expected user@example.com or Name <user@example.com>" % value)


def read_secret_variable(channel: str, key: str, variable: str, environ: Mapping[str, str]) -> str:
    value = environ.get(variable)
    if not value:
        raise ConfigError(
            "channel %r: environment variable %s named by %s is unset or empty; export it before starting inboxwatch"
            % (channel, variable, key)
        )
    return value


def index_channels(channels: Iterable[ChannelSettingsBase]) -> dict[str, ChannelSettingsBase]:
    """Map channel names to settings, raising ConfigError on a name used twice.

    Outbox rows refer to channels by name, so a name must be unique.
    """
    by_name: dict[str, ChannelSettingsBase] = {}
    for settings in channels:
        if settings.name in by_name:
            raise ConfigError("channels: name %r is used by more than one channel; names must be unique" % settings.name)
        by_name[settings.name] = settings
    return by_name
