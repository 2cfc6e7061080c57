"""The `[webhooks.<esp>]` tables: what each ESP webhook receiver verifies and accepts.

Each table turns on the receiver at `POST /webhooks/<esp>`. Secrets may be
written in the file or, better, kept in the environment and named here
(`secret_env`, `password_env`). What `secret` means depends on the ESP:

- sendgrid: the Signed Event Webhook verification key (base64 DER or PEM)
- mailgun: the HTTP webhook signing key
- mandrill: the webhook's authentication key
- resend: the signing secret (`whsec_` followed by base64)
- postmark, sparkpost, brevo: a bearer token, as an alternative or in
  addition to `username` and `password` for HTTP basic authentication
- ses: not used; SNS messages are verified with Amazon's signing certificate
  and `topic_arns` lists the topics accepted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from inboxwatch.config.durations import Duration
from inboxwatch.errors import ConfigError

# ESPs with a receiver, in the order the docs list them.
WEBHOOK_ESPS = ("ses", "sendgrid", "mailgun", "postmark", "sparkpost", "mandrill", "resend", "brevo")

# ESPs whose receiver checks HTTP basic authentication or a bearer token.
BASIC_AUTH_ESPS = ("postmark", "sparkpost", "brevo")

# arn:aws:sns:<region>:<account>:<topic>, the form SNS puts in TopicArn.
TOPIC_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")


class WebhookSettings(BaseModel):
    """One `[webhooks.<esp>]` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret: str | None = None
    secret_env: str | None = None
    username: str | None = None
    password: str | None = None
    password_env: str | None = None
    # Tenant of the events that carry none themselves; the top-level tenant by default.
    tenant: str | None = None
    # SES only: the SNS topics whose messages and subscription requests are accepted.
    topic_arns: tuple[str, ...] = ()
    # Mandrill only: the URL exactly as registered in Mandrill, which is signed
    # and which the receiver cannot see behind a proxy that rewrites it.
    url: str | None = None
    # How old a signed timestamp may be (SendGrid, Mailgun, Resend) before the
    # request counts as a replay.
    max_age: Duration = Field(default=timedelta(minutes=5))

    @field_validator("topic_arns")
    @classmethod
    def check_topic_arns(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not TOPIC_ARN_PATTERN.match(value):
                raise ValueError(
                    "invalid topic ARN %r: expected arn:aws:sns:REGION:ACCOUNT:TOPIC such as "
                    "arn:aws:sns:us-east-1:123456789012:ses-events" % value
                )
        return values

    @model_validator(mode="after")
    def check_pairs(self) -> WebhookSettings:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("secret and secret_env are both set: keep only secret_env")
        if self.password is not None and self.password_env is not None:
            raise ValueError("password and password_env are both set: keep only password_env")
        return self

    def resolve_secret(self, esp: str, environ: Mapping[str, str] = os.environ) -> str | None:
        """Return the secret from the file or the environment, or None when neither is set.

        Raises ConfigError when `secret_env` names a variable that is unset or empty.
        """
        if self.secret_env is None:
            return self.secret
        return read_variable(esp, "secret_env", self.secret_env, environ)

    def resolve_password(self, esp: str, environ: Mapping[str, str] = os.environ) -> str | None:
        if self.password_env is None:
            return self.password
        return read_variable(esp, "password_env", self.password_env, environ)


def read_variable(esp: str, key: str, variable: str, environ: Mapping[str, str]) -> str:
    value = environ.get(variable)
    if not value:
        raise ConfigError(
            "webhooks.%s: environment variable %s named by %s is unset or empty; export it before starting inboxwatch"
            % (esp, variable, key)
        )
    return value


def check_webhooks(webhooks: Mapping[str, WebhookSettings]) -> None:
    """Reject unknown ESP names and tables that leave their receiver with nothing to verify."""
    for esp, settings in webhooks.items():
        if esp not in WEBHOOK_ESPS:
            raise ValueError("webhooks.%s: unknown ESP %r; known: %s" % (esp, esp, ", ".join(WEBHOOK_ESPS)))
        has_secret = settings.secret is not None or settings.secret_env is not None
        if esp == "ses":
            if not settings.topic_arns:
                raise ValueError("webhooks.ses: topic_arns is empty: list the SNS topics whose messages are accepted")
        elif esp in BASIC_AUTH_ESPS:
            has_password = settings.password is not None or settings.password_env is not None
            if not has_secret and not (settings.username and has_password):
                raise ValueError(
                    "webhooks.%s: no credentials: set username and password_env for basic authentication, "
                    "or secret_env for a bearer token" % esp
                )
        elif not has_secret:
            raise ValueError("webhooks.%s: no secret: set secret_env (or secret) to the ESP's signing key" % esp)
