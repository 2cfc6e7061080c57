"""The `[checks]` section: the DNS blocklist and authentication checks that `inboxwatch run` schedules."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inboxwatch.config.durations import Duration

# RFC 1035 section 2.3.4: labels of 1 to 63 characters. Underscores are
# allowed because DKIM selectors and some list zones use them.
LABEL_PATTERN = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
DEFAULT_MTA_STS_URL = "https://mta-sts.{domain}/.well-known/mta-sts.txt"


def check_dns_name(value: str, what: str) -> str:
    name = value.strip().lower().rstrip(".")
    if not name or len(name) > 253 or not all(LABEL_PATTERN.match(label) for label in name.split(".")):
        raise ValueError("invalid %s %r: expected a DNS name such as zen.spamhaus.org" % (what, value))
    return name


class ChecksSettings(BaseModel):
    """The `[checks]` section. Without it, `inboxwatch run` sends no DNS queries.

    The blocklist check covers `[sender] ips` and `domains`, plus the sending
    IPs seen in the events of the last `assets_lookback` when
    `assets_from_events` is true. The authentication check covers `[sender]
    domains`. `zones` names catalogue lists or zones (default: the whole
    catalogue); `nameservers` are HOST or HOST:PORT (default: the system
    resolver). `zone_rate_limit` spaces the queries to each list zone, in
    queries per second; leave it unset for your own recursive resolver.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocklist_interval: Duration = timedelta(hours=1)
    auth_interval: Duration = timedelta(hours=6)
    nameservers: tuple[str, ...] = ()
    timeout: float = Field(default=2.0, gt=0, le=60)
    zones: tuple[str, ...] = ()
    zone_rate_limit: float | None = Field(default=None, gt=0)
    dkim_selectors: tuple[str, ...] = ()
    mta_sts_url: str = DEFAULT_MTA_STS_URL
    assets_from_events: bool = False
    assets_lookback: Duration = timedelta(days=7)

    @field_validator("blocklist_interval", "auth_interval")
    @classmethod
    def check_interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("interval %s is shorter than 1m: use 1m or more" % value)
        return value

    @field_validator("nameservers")
    @classmethod
    def check_nameservers(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            host, _, port = value.strip().rpartition(":") if value.count(":") == 1 else (value, "", "")
            if not host.strip("[]") or (port and not (port.isdigit() and 0 < int(port) < 65536)):
                raise ValueError("invalid nameserver %r: expected HOST, HOST:PORT or [IPV6]:PORT with a port from 1 to 65535" % value)
        return tuple(value.strip() for value in values)

    @field_validator("zones")
    @classmethod
    def check_zones(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_dns_name(value, "blocklist zone") for value in values)

    @field_validator("dkim_selectors")
    @classmethod
    def check_selectors(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_dns_name(value, "DKIM selector") for value in values)

    @field_validator("mta_sts_url")
    @classmethod
    def check_mta_sts_url(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("invalid mta_sts_url %r: RFC 8461 section 3.3 fetches policies over HTTPS, so it must start with https://" % value)
        return value
