"""`inboxwatch tokens`: create, list and revoke API tokens."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.store.tokens import ROLES, TokenNotFoundError, create_token, list_tokens, revoke_token


@click.group("tokens")
def command() -> None:
    """Manage API tokens. Only a hash of each token is stored."""


@command.command("create")
@config_option
@store_option
@click.option("--role", type=click.Choice(ROLES), required=True, help="viewer reads; operator also acknowledges, resolves and ingests; admin also manages tokens.")
@click.option("--name", required=True, help="Who or what uses the token; it appears in the audit log.")
def create(config_path: str | None, store_url: str | None, role: str, name: str) -> None:
    """Create a token and print it. It is shown this once and cannot be recovered."""
    engine = open_store(load_settings(config_path, store_url))
    with engine.begin() as conn:
        stored, token = create_token(conn, name=name, role=role, now=datetime.now(timezone.utc))
    click.echo(token)
    click.echo("created token %d (%s, %s); store it now, it is not shown again" % (stored.id, stored.name, stored.role), err=True)


@command.command("list")
@config_option
@store_option
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked tokens.")
def list_command(config_path: str | None, store_url: str | None, include_revoked: bool) -> None:
    """List tokens: id, role, name, creation and last use."""
    engine = open_store(load_settings(config_path, store_url))
    with engine.connect() as conn:
        tokens = list_tokens(conn, include_revoked=include_revoked)
    for token in tokens:
        last_used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
        revoked = " revoked %s" % token.revoked_at.isoformat(timespec="seconds") if token.revoked_at else ""
        click.echo(
            "%d\t%s\t%s\tcreated %s\tlast used %s%s"
            % (token.id, token.role, token.name, token.created_at.isoformat(timespec="seconds"), last_used, revoked)
        )


@command.command("revoke")
@config_option
@store_option
@click.argument("token_id", type=int)
def revoke(config_path: str | None, store_url: str | None, token_id: int) -> None:
    """Revoke the token with TOKEN_ID, as `tokens list` shows it."""
    engine = open_store(load_settings(config_path, store_url))
    try:
        with engine.begin() as conn:
            token = revoke_token(conn, token_id, datetime.now(timezone.utc))
    except TokenNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("revoked token %d (%s)" % (token.id, token.name))
