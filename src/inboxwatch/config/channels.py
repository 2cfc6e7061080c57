"""Settings of the notification channels, one model per channel type.

Each channel is a `[[channels]]` table in the configuration file, and its `type`
key selects the model. A new channel type (Slack, PagerDuty, SMS) is a new
subclass of `ChannelSettingsBase` with its own `type` literal, added to the
`ChannelSettings` union.

Secrets may be written into the file (`password`, `secret`) but are better
kept in the environment and named here (`password_env`, `secret_env`). They
are held as `SecretStr`, so printing a settings object shows `**********`.
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

    @field_validator("name")
    @classmethod
    def check_name(cls, value: str) -> str:
        if not CHANNEL_NAME_PATTERN.match(value):
            raise ValueError(
                "invalid channel name %r: expected 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit"
                % value
            )
        return value


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

    @field_validator("url")
    @classmethod
    def check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("invalid webhook url %r: expected an http:// or https:// URL with a host" % value)
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


# The type of one `[[channels]]` entry; pydantic picks the model by `type`.
ChannelSettings = Annotated[Union[EmailChannelSettings, WebhookChannelSettings], Field(discriminator="type")]


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
