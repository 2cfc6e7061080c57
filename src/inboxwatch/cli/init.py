"""`inboxwatch init`: write a commented starter configuration file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from inboxwatch.config import DEFAULT_CONFIG_NAME


def starter_text() -> str:
    """Return the starter configuration, a TOML file that loads with every default."""
    return resources.files("inboxwatch.config").joinpath("starter.toml").read_text(encoding="utf-8")


@click.command("init")
@click.argument("path", default=DEFAULT_CONFIG_NAME, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def command(path: str, force: bool) -> None:
    """Write a commented starter configuration to PATH (default: inboxwatch.toml)."""
    target = Path(path)
    if target.exists() and not force:
        raise click.ClickException("%s already exists; pass --force to overwrite it" % target)
    try:
        target.write_text(starter_text(), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException("cannot write %s: %s" % (target, exc)) from exc
    click.echo("wrote %s; edit it, then start with `inboxwatch run --config %s`" % (target, target))
