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

from inboxwatch.config.alerting import (
    AlertingSettings,
    EscalationPolicySettings,
    InhibitRuleSettings,
    RouteSettings,
    TimeWindowSettings,
    route_channel_errors,
    route_names,
)
from inboxwatch.config.channels import ChannelSettings
from inboxwatch.config.checks import ChecksSettings
from inboxwatch.config.durations import Duration, Rate
from inboxwatch.config.grades import GradesSettings
from inboxwatch.config.reputation import ReputationSettings
from inboxwatch.config.webhooks import WebhookSettings, check_webhooks
from inboxwatch.model.providers import Provider

DEFAULT_STORE_URL = "sqlite:///inboxwatch.db"
DEFAULT_TENANT = "default"

# Rates that threshold rules may watch; the names of `inboxwatch.analysis.rates`.
Metric = Literal["delivery_rate", "bounce_rate", "hard_bounce_rate", "deferral_rate", "complaint_rate"]

# Event dimensions a rule may group by; the tenant is always part of the group.
GroupDimension = Literal["provider", "sending_ip", "sending_domain"]

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
    # MTA instance name (Postfix syslog_name such as "postfix-out1", or an
    # Exim host name) -> the IP address that instance sends from.
    instance_ips: dict[str, str] = Field(default_factory=dict)

    @field_validator("instance_ips")
    @classmethod
    def check_instance_ips(cls, values: dict[str, str]) -> dict[str, str]:
        normalized = {}
        for instance, address in values.items():
            if not instance.strip():
                raise ValueError("invalid instance name %r: expected a syslog name such as postfix-out1" % instance)
            try:
                normalized[instance.strip()] = str(ipaddress.ip_address(address.strip()))
            except ValueError:
                raise ValueError(
                    "invalid IP address %r for instance %r: expected one address such as 203.0.113.7" % (address, instance)
                ) from None
        return normalized

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


def check_input_kind(value: str | None) -> str | None:
    """Reject a kind no parser reads, at load time rather than when a worker first opens an input."""
    if value is None:
        return None
    # Imported here: loading every parser module costs start-up time that most configurations never need.
    from inboxwatch.parsers.registry import get_parser

    try:
        get_parser(value)
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    return value


InputKind = Annotated[str | None, AfterValidator(check_input_kind)]


class LogSource(Section):
    """One `[[sources.logs]]` entry: a log file followed as it grows."""

    path: str = Field(min_length=1)
    kind: InputKind = None
    tenant: Name | None = None


class FolderSource(Section):
    """One `[[sources.folders]]` entry: a folder where files are dropped; read files move to `done/`."""

    path: str = Field(min_length=1)
    kind: InputKind = None
    tenant: Name | None = None


class MaildirSource(Section):
    """One `[[sources.maildirs]]` entry: a maildir polled for new messages.

    Stored messages move to the Maildir++ subfolder `processed_folder`, and
    messages no parser could read to `failed_folder`.
    """

    path: str = Field(min_length=1)
    kind: InputKind = None
    tenant: Name | None = None
    processed_folder: str = Field(default="processed", min_length=1)
    failed_folder: str = Field(default="failed", min_length=1)
    poll_interval: Duration = timedelta(minutes=1)


class ImapSource(Section):
    """One `[[sources.imap]]` entry: an IMAP mailbox read over TLS.

    The password is read from the environment variable named by
    `password_env`, so it is never written in the file. Without `processed_folder`
    stored messages are flagged \\Seen and stay where they are.
    """

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    username: str = Field(min_length=1)
    password_env: str = Field(min_length=1)
    tls: Literal["implicit", "starttls"] = "implicit"
    mailbox: str = Field(default="INBOX", min_length=1)
    search: str = Field(default="UNSEEN", min_length=1)
    processed_folder: str | None = None
    failed_folder: str | None = None
    ca_file: str | None = None
    kind: InputKind = None
    tenant: Name | None = None
    poll_interval: Duration = timedelta(minutes=1)


class SourcesSettings(Section):
    logs: tuple[LogSource, ...] = ()
    folders: tuple[FolderSource, ...] = ()
    maildirs: tuple[MaildirSource, ...] = ()
    imap: tuple[ImapSource, ...] = ()


def check_networks(values: tuple[str, ...]) -> tuple[str, ...]:
    """Normalise IP addresses and CIDR networks; a network stands for every address in it."""
    normalized = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError("invalid IP address %r: expected 203.0.113.7, 2001:db8::7 or 203.0.113.0/24" % value) from None
        normalized.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return tuple(normalized)


# A DNS name that may hold a TXT record: labels of letters, digits, '-' and
# '_' (RFC 8552 underscored names such as _spf.google.com).
TXT_NAME_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def check_txt_names(values: tuple[str, ...]) -> tuple[str, ...]:
    normalized = []
    for value in values:
        domain = value.strip().lower().rstrip(".")
        if not TXT_NAME_PATTERN.match(domain):
            raise ValueError("invalid domain %r: expected a DNS name such as _spf.google.com" % value)
        normalized.append(domain)
    return tuple(normalized)


class DmarcSettings(Section):
    """The `[dmarc]` section: who sends for the domains, and the DMARC report alerts.

    `known_senders` (IPs and networks) and the senders that the SPF records
    in `known_spf_includes` authorise are "ours"; any other source is
    unknown. `nameservers` serve the SPF and reverse DNS lookups (HOST or
    HOST:PORT, default the system resolver).
    """

    known_senders: Annotated[tuple[str, ...], AfterValidator(check_networks)] = ()
    known_spf_includes: Annotated[tuple[str, ...], AfterValidator(check_txt_names)] = ()
    reverse_dns: bool = False
    nameservers: tuple[str, ...] = ()
    check_interval: Duration = timedelta(minutes=15)
    pass_rate_threshold: Rate = 0.9
    min_volume: int = Field(default=100, ge=1)
    new_source_min_failing: int = Field(default=50, ge=1)
    new_source_lookback: Duration = timedelta(days=30)
    missing_after_days: int = Field(default=3, ge=1)
    missing_min_history_days: int = Field(default=7, ge=1)


class TlsRptSettings(Section):
    """The `[tlsrpt]` section: the alert on TLS session failures per policy domain and day."""

    failure_rate_threshold: Rate = 0.05
    min_sessions: int = Field(default=100, ge=1)


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
    keep_firing_for: Duration = timedelta(0)
    # Exit levels: an "above" rule's alert resolves only under `resolve_below`,
    # a "below" rule's only over `resolve_above`.
    resolve_below: Rate | None = None
    resolve_above: Rate | None = None
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
        check_exit_level(self)
        for provider, levels in self.providers.items():
            check_level_order(self.direction, levels.warning, levels.critical, "providers.%s: " % provider.value)
        return self


def check_exit_level(rule: RuleSettings) -> None:
    entry_levels = [level for level in (rule.warning, rule.critical) if level is not None]
    if rule.direction == "above":
        if rule.resolve_above is not None:
            raise ValueError("resolve_above is for 'below' rules; an 'above' rule sets resolve_below")
        if rule.resolve_below is not None and rule.resolve_below > min(entry_levels):
            raise ValueError(
                "resolve_below %.4g is above the lowest level %.4g: set it at or under that level"
                % (rule.resolve_below, min(entry_levels))
            )
    else:
        if rule.resolve_below is not None:
            raise ValueError("resolve_below is for 'above' rules; a 'below' rule sets resolve_above")
        if rule.resolve_above is not None and rule.resolve_above < max(entry_levels):
            raise ValueError(
                "resolve_above %.4g is below the highest level %.4g: set it at or over that level"
                % (rule.resolve_above, max(entry_levels))
            )


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


class AnomalySettings(Section):
    """The `[anomaly]` section: the anomaly detectors, judged once an hour per group.

    The tuning keys mirror `inboxwatch.analysis.anomaly.parameters.AnomalyParameters`,
    where each is described; docs/anomalies.md explains the methods.
    """

    enabled: bool = True
    group_by: tuple[GroupDimension, ...] = ("provider",)
    for_: Duration = Field(default=timedelta(0), alias="for")
    baseline: Duration = timedelta(days=14)
    min_baseline: Duration = timedelta(days=3)
    monitor: Duration = timedelta(hours=24)
    complaint_shift: float = Field(default=3.0, gt=1, le=100)
    complaint_h: float = Field(default=10.0, gt=0)
    complaint_maturity: Duration = timedelta(hours=6)
    ewma_smoothing: float = Field(default=0.3, gt=0, le=1)
    ewma_limit: float = Field(default=4.0, gt=0)
    ewma_min_ratio: float = Field(default=1.5, ge=1)
    min_batch: int = Field(default=200, ge=1)
    bounce_maturity: Duration = timedelta(hours=1)
    deferral_maturity: Duration = timedelta(0)
    volume_weeks: int = Field(default=4, ge=1, le=12)
    volume_min_weeks: int = Field(default=2, ge=1, le=12)
    volume_z: float = Field(default=4.0, gt=0)
    volume_mad_floor: float = Field(default=50.0, gt=0)
    volume_relative_floor: float = Field(default=0.15, ge=0)
    volume_hours: int = Field(default=2, ge=1, le=24)
    volume_maturity: Duration = timedelta(hours=1)
    min_baseline_volume: int = Field(default=1000, ge=1)
    min_volume: int = Field(default=200, ge=1)
    prior_strength: float = Field(default=2000.0, gt=0)

    @model_validator(mode="after")
    def check_weeks(self) -> AnomalySettings:
        if self.volume_min_weeks > self.volume_weeks:
            raise ValueError(
                "volume_min_weeks %d is more than volume_weeks %d: use at most volume_weeks"
                % (self.volume_min_weeks, self.volume_weeks)
            )
        return self


class Config(Section):
    """The whole configuration file."""

    tenant: Name = DEFAULT_TENANT
    store: StoreSettings = StoreSettings()
    sender: SenderSettings = SenderSettings()
    sources: SourcesSettings = SourcesSettings()
    rules: dict[Name, RuleSettings] = Field(default_factory=dict)
    channels: tuple[ChannelSettings, ...] = ()
    route: RouteSettings = RouteSettings()
    routes: tuple[RouteSettings, ...] = ()
    time_windows: tuple[TimeWindowSettings, ...] = ()
    inhibit_rules: tuple[InhibitRuleSettings, ...] = ()
    escalation_policies: tuple[EscalationPolicySettings, ...] = ()
    alerting: AlertingSettings = AlertingSettings()
    service: ServiceSettings = ServiceSettings()
    webhooks: dict[str, WebhookSettings] = Field(default_factory=dict)
    dmarc: DmarcSettings = DmarcSettings()
    tlsrpt: TlsRptSettings = TlsRptSettings()
    anomaly: AnomalySettings = AnomalySettings()
    reputation: ReputationSettings = ReputationSettings()
    checks: ChecksSettings | None = None
    grades: GradesSettings = GradesSettings()

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
        known = "defined channels: %s" % ", ".join(names) if names else "no [[channels]] are defined"
        errors = route_channel_errors(self.route, names, "route")
        for index, route in enumerate(self.routes):
            errors.extend(route_channel_errors(route, names, "routes[%d]" % index))
        for policy in self.escalation_policies:
            for level in policy.levels:
                errors.extend(
                    "escalation_policies.%s names unknown channel %r" % (policy.name, channel)
                    for channel in level.channels
                    if channel not in names
                )
        if errors:
            raise ValueError("%s; %s" % (errors[0], known))
        return self

    @model_validator(mode="after")
    def check_route_references(self) -> Config:
        windows = [window.name for window in self.time_windows]
        policies = [policy.name for policy in self.escalation_policies]
        for kind, listed in (("time_windows", windows), ("escalation_policies", policies)):
            duplicates = sorted({name for name in listed if listed.count(name) > 1})
            if duplicates:
                raise ValueError("%s name %r is used more than once; names must be unique" % (kind, duplicates[0]))
        if self.route.matchers or self.route.match or self.route.match_re:
            raise ValueError("route: the root route matches every alert, so it takes no matchers; put them on [[routes]]")
        tree = route_names(self.route, "route")
        for index, route in enumerate(self.routes):
            tree.extend(route_names(route, "routes[%d]" % index))
        for path, route in tree:
            for name in (route.active_time_windows or ()) + (route.mute_time_windows or ()):
                if name not in windows:
                    raise ValueError("%s names unknown time window %r; defined: %s" % (path, name, ", ".join(windows) or "none"))
            if route.escalation_policy is not None and route.escalation_policy not in policies:
                raise ValueError(
                    "%s names unknown escalation policy %r; defined: %s"
                    % (path, route.escalation_policy, ", ".join(policies) or "none")
                )
        return self

    def enabled_rules(self) -> dict[str, RuleSettings]:
        return {name: rule for name, rule in self.rules.items() if rule.enabled}
