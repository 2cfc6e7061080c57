"""`inboxwatch run`: the long-running service, with all its roles or some of them."""

from __future__ import annotations

import logging

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.errors import InboxwatchError
from inboxwatch.service.runner import ROLES, run_service
from inboxwatch.web.worker import http_worker


def selected_roles(role_options: tuple[str, ...], http: bool | None) -> list[str]:
    """Return the roles to run, in ROLES order: those named (all when none or "all" is), then `--http/--no-http` applied."""
    roles = set(ROLES) if not role_options or "all" in role_options else set(role_options)
    if http is True:
        roles.add("http")
    elif http is False:
        roles.discard("http")
    return [role for role in ROLES if role in roles]


@click.command("run")
@config_option
@store_option
@click.option(
    "--role",
    "role_options",
    multiple=True,
    type=click.Choice(ROLES + ("all",)),
    help="Run only these workers; repeat for several (default: all). ingest: log, folder and mailbox sources. "
    "evaluate: rule evaluation. notify: the outbox sender. http: API, webhooks and /metrics. "
    "checks: DNS, DMARC/TLS report and reputation checks, and the retention purge.",
)
@click.option(
    "--http/--no-http",
    default=None,
    help="Add or leave out the http role (on [service] http_host and http_port), whatever --role selects.",
)
def command(config_path: str | None, store_url: str | None, role_options: tuple[str, ...], http: bool | None) -> None:
    """Run the service: follow logs, ingest dropped files and mailboxes, check reports, evaluate rules, send notifications and serve HTTP.

    With --role, only the named roles run, so they can run as separate
    processes against one PostgreSQL database (see docs/deployment.md).
    Stops cleanly on SIGTERM or Ctrl-C: buffered events are written and the
    read positions stored before the process exits.
    """
    # A service reports its starts, stops and retries without being asked:
    # its own INFO lines show unless -v already chose a more detailed level.
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("inboxwatch").setLevel(logging.INFO)
    roles = selected_roles(role_options, http)
    if not roles:
        raise click.UsageError("no role left to run: --no-http removed the only role selected with --role")
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    workers = []
    if "http" in roles:
        try:
            workers.append(("http", http_worker(engine, config)))
        except (InboxwatchError, ValueError) as exc:
            raise click.ClickException("cannot start the HTTP server: %s" % exc) from exc
    try:
        failed = run_service(engine, config, extra_workers=workers, roles=roles)
    except InboxwatchError as exc:
        raise click.ClickException("cannot start the service: %s" % exc) from exc
    if failed:
        # Non-zero, so that a supervisor (systemd Restart=on-failure) restarts it.
        raise click.ClickException("the service stopped because a worker failed: %s (see the log above)" % ", ".join(failed))
