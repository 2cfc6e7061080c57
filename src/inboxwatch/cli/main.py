"""Entry point of the `inboxwatch` command."""

from __future__ import annotations

import gc
import importlib
import logging

import click

from inboxwatch import __version__

# Modules that each define one click command (or group) named `command`,
# whose name is the module's last name part.
COMMAND_MODULES = (
    "inboxwatch.cli.parse",
    "inboxwatch.cli.quarantine",
    "inboxwatch.cli.explain",
    "inboxwatch.cli.ingest",
    "inboxwatch.cli.status",
    "inboxwatch.cli.init",
    "inboxwatch.cli.evaluate",
    "inboxwatch.cli.alerts",
    "inboxwatch.cli.silences",
    "inboxwatch.cli.check",
    "inboxwatch.cli.run",
    "inboxwatch.cli.demo",
    "inboxwatch.cli.notify",
    "inboxwatch.cli.report",
    "inboxwatch.cli.reputation",
    "inboxwatch.cli.grades",
    "inboxwatch.cli.serve",
    "inboxwatch.cli.tokens",
)


# Thresholds of the cyclic garbage collector for the command's process.
# Ingest and the alert cycle allocate millions of short-lived objects, which
# reference counting frees. With CPython's default first threshold (700
# allocations) the collector still ran often enough to take about a tenth
# of the CPU time of a million-line ingest (bench/postfix_ingest.py). Garbage
# in reference cycles is rare here, so collecting it less often costs little memory.
GC_THRESHOLDS = (100_000, 50, 100)


class LazyGroup(click.Group):
    """A command group that imports a command's module only when that command runs.

    Commands pull in very different libraries (the web server, the DNS
    resolver, the migrations), and importing all of them would cost every
    invocation seconds of start-up.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name.rsplit(".", 1)[1] for name in COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module_name in COMMAND_MODULES:
            if module_name.rsplit(".", 1)[1] == cmd_name:
                command = importlib.import_module(module_name).command
                if command.name != cmd_name:
                    raise RuntimeError("%s defines command %r, expected %r" % (module_name, command.name, cmd_name))
                return command
        return None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inboxwatch")
@click.option("-v", "--verbose", count=True, help="Log more: -v for info, -vv for debug.")
def cli(verbose: int) -> None:
    """Email deliverability monitoring and alerting."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    cli(prog_name="inboxwatch")
