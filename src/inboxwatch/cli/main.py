"""Entry point of the `inboxwatch` command."""

from __future__ import annotations

import importlib
import logging

import click

from inboxwatch import __version__

# Modules that each define one click command (or group) named `command`.
COMMAND_MODULES = (
    "inboxwatch.cli.parse",
    "inboxwatch.cli.explain",
    "inboxwatch.cli.ingest",
    "inboxwatch.cli.status",
    "inboxwatch.cli.init",
    "inboxwatch.cli.evaluate",
    "inboxwatch.cli.alerts",
    "inboxwatch.cli.check",
    "inboxwatch.cli.run",
    "inboxwatch.cli.demo",
    "inboxwatch.cli.notify",
    "inboxwatch.cli.report",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inboxwatch")
@click.option("-v", "--verbose", count=True, help="Log more: -v for info, -vv for debug.")
def cli(verbose: int) -> None:
    """Email deliverability monitoring and alerting."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for _module_name in COMMAND_MODULES:
    cli.add_command(importlib.import_module(_module_name).command)


def main() -> None:
    cli(prog_name="inboxwatch")
