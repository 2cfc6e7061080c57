"""The validated configuration: frozen pydantic models, one per file section.

Every model rejects unknown keys, so a misspelt key is reported instead of
silently ignored. Paths and the SQLite store URL are made absolute against
the configuration file's folder by the loader, not here.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from inboxwatch.config.channels import ChannelSettings
from inboxwatch.config.durations import Duration, Rate
from inboxwatch.config.webhooks import WebhookSettings, check_webhooks
from inboxwatch.model.providers import Provider

DEFAULT_STORE_URL = "sqlite:///inboxwatch.db"
DEFAULT_TENANT = "default"

# Rates that threshold rules may watch; the names of `inboxwatch.analysis.rates`.
Metric = Literal["delivery_rate", "bounce_rate", "hard_bounce_rate", "deferral_rate", "complaint_rate"]

# Event dimensions a rule may group by; the tenant is always part of the group.
GroupDimension = Literal["provider", "sending_ip", "sending_domain"]

# Labels a route may match on.
RouteLabel = Literal["severity", "provider", "tenant", "rule", "sending_ip", "sending_domain"]

# Tenant and rule names end up in alert labels and table columns of 64 and
# 128 characters, so they are kept to a plain identifier form.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def check_name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(
            "invalid name %r: expected 1 to 64 lowercase letters, digits, '_', '.' or '-', starting with a letter or digit"
            % value
        )
    return value


# A tenant or rule name, checked against NAME_PATTERN.
Name = Annotated[str, AfterValidator(check_name)]


class StoreSettings(Section):
    """The `[store]` section: where events, alerts and the outbox are kept."""

    url: str = DEFAULT_STORE_URL
    retention_days: int = Field(default=90, ge=1, le=3650)
    recipient_retention: Literal["full", "domain", "none"] = "domain"


class SenderSettings(Section):
    """The `[sender]` section: what belongs to the sender being watched."""

    ips: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    local_addresses: tuple[str, ...] = ()

    @field_validator("ips")
    @classmethod
    def check_ips(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        # A network (203.0.113.0/24) stands for every address in it.
        normalized = []
        for value in values:
            try:
                network = ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                raise ValueError("invalid IP address %r: expected 203.0.113.7, 2001:db8::7 or 203.0.113.0/24" % value) from None
            text = str(network.network_address) if network.num_addresses == 1 else str(network)
            normalized.append(text)
        return tuple(normalized)

    @field_validator("domains")
    @classmethod
    def check_domains(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        normalized = []
        for value in values:
            domain = value.strip().lower().rstrip(".")
            if not DOMAIN_PATTERN.match(domain):
                raise ValueError("invalid domain %r: expected a domain name such as mail.example.com" % value)
            normalized.append(domain)
        return tuple(normalized)


class LogSource(Section):
    """One `[[sources.logs]]` entry: a log file followed as it grows."""

    path: str = Field(min_length=1)
    kind: str | None = None
    tenant: Name | None = None


class FolderSource(Section):
    """One `[[sources.folders]]` entry: a folder where files are dropped; read files move to `done/`."""

    path: str = Field(min_length=1)
    kind: str | None = None
    tenant: Name | None = None


class SourcesSettings(Section):
    logs: tuple[LogSource, ...] = ()
    folders: tuple[FolderSource, ...] = ()


class ThresholdLevels(Section):
    """Warning and critical levels for one mailbox provider, replacing the rule's own."""

    warning: Rate | None = None
    critical: Rate | None = None


class RuleSettings(Section):
    """One threshold rule under `[rules.NAME]`, after merging with the built-in defaults.

    `direction` "below" fires when the rate falls under a level (delivery
    rate), "above" when it rises over one (bounce rate).
    """

    metric: Metric
    direction: Literal["below", "above"]
    warning: Rate | None = None
    critical: Rate | None = None
    window: Duration = timedelta(minutes=5)
    for_: Duration = Field(default=timedelta(minutes=5), alias="for")
    min_volume: int = Field(default=100, ge=1)
    group_by: tuple[GroupDimension, ...] = ("provider",)
    use_wilson: bool = False
    wilson_z: float = Field(default=1.96, gt=0, le=5)
    providers: dict[Provider, ThresholdLevels] = Field(default_factory=dict)
    enabled: bool = True
    description: str = ""

    @field_validator("window")
    @classmethod
    def check_window(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("window %s is shorter than the 1m resolution of the rollups: use 1m or more" % value)
        return value

    @field_validator("group_by")
    @classmethod
    def check_group_by(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("group_by lists a dimension twice: %s" % ", ".join(value))
        return value

    @model_validator(mode="after")
    def check_levels(self) -> RuleSettings:
        check_level_order(self.direction, self.warning, self.critical, "")
        for provider, levels in self.providers.items():
            check_level_order(self.direction, levels.warning, levels.critical, "providers.%s: " % provider.value)
        return self


def check_level_order(direction: str, warning: float | None, critical: float | None, where: str) -> None:
    if warning is None and critical is None:
        raise ValueError("%sneither warning nor critical is set: set at least one level" % where)
    if warning is None or critical is None:
        return
    if direction == "below" and critical > warning:
        raise ValueError(
            "%scritical %.4g is above warning %.4g, but a 'below' rule needs critical <= warning" % (where, critical, warning)
        )
    if direction == "above" and critical < warning:
        raise ValueError(
            "%scritical %.4g is below warning %.4g, but an 'above' rule needs critical >= warning" % (where, critical, warning)
        )


class RouteSettings(Section):
    """One `[[routes]]` entry: which alerts go to which channels, and how often they repeat.

    `match` compares labels for equality, `match_re` with a regular
    expression that must match the whole label value.
    """

    match: dict[RouteLabel, str] = Field(default_factory=dict)
    match_re: dict[RouteLabel, str] = Field(default_factory=dict)
    channels: tuple[str, ...] = Field(min_length=1)
    repeat_interval: Duration = timedelta(hours=4)
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("match_re")
    @classmethod
    def check_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for label, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError("invalid regular expression %r for label %s: %s" % (pattern, label, exc)) from None
        return value

    @field_validator("repeat_interval")
    @classmethod
    def check_repeat_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("repeat_interval %s is shorter than 1m: use 1m or more" % value)
        return value


class ServiceSettings(Section):
    """The `[service]` section: the schedule of the long-running process."""

    evaluation_interval: Duration = timedelta(minutes=1)
    # How far back `inboxwatch run` replays missed evaluations after a stop.
    max_catch_up: Duration = timedelta(hours=24)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    # PEM files for HTTPS; without them the server speaks plain HTTP (put it behind a TLS proxy).
    tls_cert_file: str | None = None
    tls_key_file: str | None = None

    @field_validator("evaluation_interval")
    @classmethod
    def check_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=10):
            raise ValueError("evaluation_interval %s is shorter than 10s: use 10s or more" % value)
        return value


class Config(Section):
    """The whole configuration file."""

    tenant: Name = DEFAULT_TENANT
    store: StoreSettings = StoreSettings()
    sender: SenderSettings = SenderSettings()
    sources: SourcesSettings = SourcesSettings()
    rules: dict[Name, RuleSettings] = Field(default_factory=dict)
    channels: tuple[ChannelSettings, ...] = ()
    routes: tuple[RouteSettings, ...] = ()
    service: ServiceSettings = ServiceSettings()
    webhooks: dict[str, WebhookSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def check_webhook_tables(self) -> Config:
        check_webhooks(self.webhooks)
        return self

    @model_validator(mode="after")
    def check_channel_references(self) -> Config:
        names = [channel.name for channel in self.channels]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError("channel name %r is used more than once; names must be unique" % duplicates[0])
        for index, route in enumerate(self.routes):
            for channel in route.channels:
                if channel not in names:
                    known = "defined channels: %s" % ", ".join(names) if names else "no [[channels]] are defined"
                    raise ValueError("routes[%d].channels names unknown channel %r; %s" % (index, channel, known))
        return self

    def enabled_rules(self) -> dict[str, RuleSettings]:
        return {name: rule for name, rule in self.rules.items() if rule.enabled}
