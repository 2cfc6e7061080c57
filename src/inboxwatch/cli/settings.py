"""Options shared by commands that read the configuration and open the store."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click
import sqlalchemy as sa

from inboxwatch.config import DEFAULT_CONFIG_NAME, Config, default_config, load_config
from inboxwatch.errors import InboxwatchError
from inboxwatch.store.db import open_engine

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file. Default: %s in the current folder if present, else the built-in defaults." % DEFAULT_CONFIG_NAME,
)
store_option = click.option(
    "--store",
    "store_url",
    envvar="INBOXWATCH_STORE",
    help="Store URL, replacing [store] url (sqlite:///FILE or postgresql://...). Default: $INBOXWATCH_STORE.",
)


# Ids of stored rows (alerts, silences): SQLite and PostgreSQL keep them in
# 64-bit signed integers, so a larger number is rejected before any query.
ROW_ID = click.IntRange(1, 2**63 - 1)


def load_settings(config_path: str | None, store_url: str | None) -> Config:
    """Load the configuration for a command, applying a --store override; errors exit with the message."""
    try:
        if config_path is not None:
            config = load_config(config_path)
        elif Path(DEFAULT_CONFIG_NAME).is_file():
            config = load_config(DEFAULT_CONFIG_NAME)
        else:
            config = default_config()
    except InboxwatchError as exc:
        raise click.ClickException(str(exc)) from exc
    if store_url:
        config = config.model_copy(update={"store": config.store.model_copy(update={"url": store_url})})
    return config


def open_store(config: Config) -> sa.Engine:
    try:
        return open_engine(config.store.url)
    except InboxwatchError as exc:
        raise click.ClickException(str(exc)) from exc


def parse_time(text: str) -> datetime:
    """Read an ISO 8601 time ("2026-03-01T10:00", "2026-03-01 10:00:00+01:00") or "now"; naive times are UTC."""
    if text.strip().lower() == "now":
        return datetime.now(timezone.utc)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter("invalid time %r: expected ISO 8601 such as 2026-03-01T10:00 or now" % text) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
