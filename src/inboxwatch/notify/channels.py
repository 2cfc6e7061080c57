"""Building channel objects from their settings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from inboxwatch.config.channels import (
    AppriseChannelSettings,
    ChannelSettingsBase,
    EmailChannelSettings,
    PagerDutyChannelSettings,
    SlackChannelSettings,
    TwilioChannelSettings,
    WebhookChannelSettings,
    index_channels,
)
from inboxwatch.errors import ConfigError
from inboxwatch.notify.apprise_channel import AppriseChannel
from inboxwatch.notify.email import EmailChannel
from inboxwatch.notify.notification import Channel
from inboxwatch.notify.pagerduty import PagerDutyChannel
from inboxwatch.notify.slack import SlackChannel
from inboxwatch.notify.twilio import TwilioChannel
from inboxwatch.notify.webhook import WebhookChannel


def build_channel(
    settings: ChannelSettingsBase,
    clock: Callable[[], datetime],
    environ: Mapping[str, str] = os.environ,
) -> Channel:
    """Create the channel for one settings entry, reading its secret from `environ` where configured.

    Raises ConfigError when a named environment variable is unset or a template is invalid.
    """
    if isinstance(settings, EmailChannelSettings):
        return EmailChannel(settings, settings.resolve_password(environ), clock)
    if isinstance(settings, WebhookChannelSettings):
        return WebhookChannel(settings, settings.resolve_secret(environ), clock)
    if isinstance(settings, SlackChannelSettings):
        return SlackChannel(settings, settings.resolve_url(environ), clock)
    if isinstance(settings, PagerDutyChannelSettings):
        return PagerDutyChannel(settings, settings.resolve_routing_key(environ), clock)
    if isinstance(settings, TwilioChannelSettings):
        return TwilioChannel(settings, settings.resolve_auth_token(environ), clock)
    if isinstance(settings, AppriseChannelSettings):
        return AppriseChannel(settings, settings.resolve_urls(environ), clock)
    raise ConfigError("channel %r: type %r has no sender" % (settings.name, getattr(settings, "type", None)))


def build_channels(
    settings: Iterable[ChannelSettingsBase],
    clock: Callable[[], datetime],
    environ: Mapping[str, str] = os.environ,
) -> dict[str, Channel]:
    """Create every configured channel, keyed by name; raises ConfigError on a duplicate name."""
    return {name: build_channel(entry, clock, environ) for name, entry in index_channels(settings).items()}
