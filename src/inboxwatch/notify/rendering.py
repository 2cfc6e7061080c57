"""Message templates: Jinja2 subject and body per channel, rendered in a sandbox.

Each channel kind (`email`, `slack`, `pagerduty`, `twilio`, `apprise`,
`webhook`) looks up `KIND.subject.txt` and `KIND.body.txt` (and `email`
also `KIND.body.html`), falling back to `default.PART.EXT`. A channel's
`template_dir` is searched before the built-in templates in
`notify/templates/`, and inline `subject_template` and `body_template`
replace the subject and the text body. Templates are user-supplied, so
they run in Jinja2's SandboxedEnvironment, and `.html` templates are
autoescaped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from inboxwatch.config.channels import ChannelSettingsBase
from inboxwatch.errors import ChannelError, ConfigError
from inboxwatch.notify.alertgroup import AlertGroup, alert_page_url, read_group
from inboxwatch.notify.notification import REASON_TAGS, Notification, format_labels

# Slack mrkdwn control characters and their escapes, from Slack's formatting
# reference (api.slack.com/reference/surfaces/formatting#escaping).
MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


@dataclasses.dataclass(frozen=True)
class RenderedMessage:
    """A notification rendered for one channel. `html` is set only for kinds with an HTML template."""

    subject: str
    body: str
    html: str | None = None


class MessageTemplates:
    """The compiled subject and body templates of one channel.

    Raises ConfigError on construction when a template is missing or has a
    syntax error, so a bad template is reported at startup, not at the first alert.
    """

    def __init__(self, kind: str | Sequence[str], settings: ChannelSettingsBase, with_html: bool = False) -> None:
        # Several kinds are tried in order, so a variant can reuse a sibling's
        # templates (Rocket.Chat reads Slack's mrkdwn).
        self.kinds = (kind,) if isinstance(kind, str) else tuple(kind)
        self.kind = self.kinds[0]
        self.channel = settings.name
        self.external_url = settings.external_url
        self.environment = build_environment(settings)
        try:
            self.subject = self.compile(settings.subject_template, "subject", "txt")
            self.body = self.compile(settings.body_template, "body", "txt")
            self.html = self.compile(None, "body", "html") if with_html else None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                "channel %r: template %s line %s has a syntax error: %s"
                % (settings.name, exc.name or "(inline)", exc.lineno, exc.message)
            ) from None
        except jinja2.TemplatesNotFound as exc:
            raise ConfigError("channel %r: template not found: %s" % (settings.name, exc.message)) from None

    def compile(self, inline: str | None, part: str, extension: str) -> jinja2.Template:
        if inline is not None:
            return self.environment.from_string(inline)
        names = ["%s.%s.%s" % (kind, part, extension) for kind in self.kinds]
        return self.environment.select_template([*names, "default.%s.%s" % (part, extension)])

    def render(self, notification: Notification) -> RenderedMessage:
        """Render the subject, the text body and (where configured) the HTML body.

        Raises a permanent ChannelError when a template fails, because
        rendering the same notification again fails the same way.
        """
        context = template_context(notification, self.external_url)
        try:
            subject = " ".join(self.subject.render(context).split())
            context["subject"] = subject
            body = self.body.render(context).strip() + "\n"
            html = self.html.render(context) if self.html is not None else None
        except jinja2.TemplateError as exc:
            raise ChannelError(
                "rendering the %s template of channel %s failed: %s: %s"
                % (self.kind, self.channel, type(exc).__name__, exc),
                retryable=False,
            ) from exc
        return RenderedMessage(subject=subject, body=body, html=html)


def build_environment(settings: ChannelSettingsBase) -> SandboxedEnvironment:
    loaders: list[jinja2.BaseLoader] = []
    if settings.template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(settings.template_dir)))
    loaders.append(jinja2.PackageLoader("inboxwatch.notify", "templates"))
    environment = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["labels"] = format_labels
    environment.filters["figure"] = format_figure
    environment.filters["mrkdwn"] = escape_mrkdwn
    return environment


def template_context(notification: Notification, external_url: str | None) -> dict[str, Any]:
    """Build the variables templates see; docs/notifications.md lists them."""
    group = read_group(notification.payload, notification.reason)
    first = group.alerts[0] if group.alerts else None
    return {
        "reason": notification.reason,
        "tag": REASON_TAGS.get(notification.reason, notification.reason.upper()),
        "status": group.status,
        "severity": group.severity,
        "headline": headline(group),
        "alerts": list(group.alerts),
        "alert": first,
        "firing": group.firing,
        "resolved": group.resolved,
        "group_key": group.group_key,
        "group_labels": dict(group.group_labels),
        "common_labels": group.common_labels,
        "channel": notification.channel,
        "idempotency_key": notification.idempotency_key,
        "created_at": notification.created_at.isoformat(),
        "external_url": external_url,
        "alert_url": alert_url(group, external_url),
        "payload": dict(notification.payload),
    }


def headline(group: AlertGroup) -> str:
    """Return one line about the group: the lone alert's summary, or a count with the group's labels."""
    if len(group.alerts) == 1:
        alert = group.alerts[0]
        if alert.summary:
            return alert.summary
        labels = format_labels(alert.labels)
        return "%s %s" % (alert.rule, labels) if labels else alert.rule
    if group.summary:
        return group.summary
    labels = format_labels({key: value for key, value in group.group_labels.items()})
    count = "%d alerts" % len(group.alerts)
    return "%s: %s" % (count, labels) if labels else count


def alert_url(group: AlertGroup, external_url: str | None) -> str | None:
    """Link to the lone alert's page, or to `external_url` itself for a group."""
    if len(group.alerts) == 1 and group.alerts[0].alert_id is not None:
        return alert_page_url(external_url, group.alerts[0].alert_id)
    return external_url


def format_figure(value: Any) -> str:
    """Format a value or threshold with four significant digits; an empty string for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "%.4g" % value
    return str(value)


def escape_mrkdwn(value: Any) -> str:
    text = str(value)
    for character, escape in MRKDWN_ESCAPES.items():
        text = text.replace(character, escape)
    return text

