"""The `[reputation]` section: Microsoft SNDS, Google Postmaster Tools and Validity Sender Score feeds.

A feed is configured when its table is present with its credentials. An
absent table means "not configured", which `inboxwatch reputation status`
reports. Every base URL can be replaced, so tests and proxies can stand in
for the providers. Secrets may be written into the file but are better kept
in the environment and named here (`key_env`, `client_secret_env`,
`refresh_token_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from inboxwatch.config.durations import Duration, Rate
from inboxwatch.errors import ConfigError

SNDS_BASE_URL = "https://sendersupport.olc.protection.outlook.com/snds"
POSTMASTER_BASE_URL = "https://gmailpostmastertools.googleapis.com"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
SENDER_SCORE_ZONE = "score.senderscore.com"


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class SndsSettings(Section):
    """`[reputation.snds]`: the SNDS automated access key and where to fetch with it."""

    key: SecretStr | None = None
    key_env: str | None = None
    base_url: str = SNDS_BASE_URL

    @model_validator(mode="after")
    def check_key(self) -> SndsSettings:
        if (self.key is None) == (self.key_env is None):
            raise ValueError("set exactly one of key and key_env (the SNDS automated access key)")
        return self

    def resolve_key(self, environ: Mapping[str, str] = os.environ) -> str:
        if self.key is not None:
            return self.key.get_secret_value()
        return read_variable("reputation.snds.key_env", self.key_env or "", environ)


class PostmasterSettings(Section):
    """`[reputation.postmaster]`: the domains to read and the OAuth credentials.

    Credentials are either `service_account_file`, a Google service-account
    JSON key whose account is a user of the domains in Postmaster Tools, or
    `client_id` with `client_secret[_env]` and `refresh_token[_env]` from an
    installed-app OAuth grant of the postmaster.readonly scope.
    """

    domains: tuple[str, ...] = Field(min_length=1)
    base_url: str = POSTMASTER_BASE_URL
    token_url: str = GOOGLE_TOKEN_URL
    service_account_file: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    client_secret_env: str | None = None
    refresh_token: SecretStr | None = None
    refresh_token_env: str | None = None
    # v1 traffic stats carry domain and IP reputation; Google is retiring v1, so a failure there is reported but not fatal.
    traffic_stats_v1: bool = True
    days: int = Field(default=7, ge=1, le=120)

    @model_validator(mode="after")
    def check_credentials(self) -> PostmasterSettings:
        user = self.client_id is not None
        if self.service_account_file is not None and user:
            raise ValueError("set service_account_file or client_id, not both")
        if self.service_account_file is None and not user:
            raise ValueError("missing credentials: set service_account_file, or client_id with client_secret_env and refresh_token_env")
        if user:
            if (self.client_secret is None) == (self.client_secret_env is None):
                raise ValueError("set exactly one of client_secret and client_secret_env")
            if (self.refresh_token is None) == (self.refresh_token_env is None):
                raise ValueError("set exactly one of refresh_token and refresh_token_env")
        return self

    def resolve_client_secret(self, environ: Mapping[str, str] = os.environ) -> str:
        if self.client_secret is not None:
            return self.client_secret.get_secret_value()
        return read_variable("reputation.postmaster.client_secret_env", self.client_secret_env or "", environ)

    def resolve_refresh_token(self, environ: Mapping[str, str] = os.environ) -> str:
        if self.refresh_token is not None:
            return self.refresh_token.get_secret_value()
        return read_variable("reputation.postmaster.refresh_token_env", self.refresh_token_env or "", environ)


class SenderScoreSettings(Section):
    """`[reputation.senderscore]`: IPs to look up (default: the `[sender]` IPs) in Validity's DNS zone."""

    ips: tuple[str, ...] = ()
    zone: str = SENDER_SCORE_ZONE
    # Nameservers as HOST or HOST:PORT; empty means the system resolver.
    nameservers: tuple[str, ...] = ()


class ReputationThresholds(Section):
    """Alert levels on reputation data: Google's bulk-sender guidance is a spam rate under 0.1% and never 0.3% or more."""

    spam_rate_warning: Rate = 0.001
    spam_rate_critical: Rate = 0.003
    auth_success_warning: Rate = 0.98
    sender_score_warning: int = Field(default=70, ge=0, le=100)


class ReputationSettings(Section):
    """The `[reputation]` section."""

    snds: SndsSettings | None = None
    postmaster: PostmasterSettings | None = None
    senderscore: SenderScoreSettings | None = None
    alerts: ReputationThresholds = ReputationThresholds()
    fetch_interval: Duration = timedelta(hours=6)
    timeout: float = Field(default=30.0, gt=0, le=300)
    attempts: int = Field(default=4, ge=1, le=10)


def read_variable(key: str, variable: str, environ: Mapping[str, str]) -> str:
    value = environ.get(variable)
    if not value:
        raise ConfigError("environment variable %s named by %s is unset or empty; export it before starting inboxwatch" % (variable, key))
    return value
