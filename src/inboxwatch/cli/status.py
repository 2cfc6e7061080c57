"""`inboxwatch status`: per-provider volume and rates for the last hour and day, and firing alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from inboxwatch.analysis.rates import RATE_NAMES, Rate, rates_for
from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.model.alerts import AlertState
from inboxwatch.store import alerts as alert_store
from inboxwatch.store.activity import latest_event_time
from inboxwatch.store.metrics import CountRow, query_counts, sent_volume

WINDOWS = (("last hour", timedelta(hours=1)), ("last day", timedelta(days=1)))

RATE_TITLES = {
    "delivery_rate": "delivered",
    "bounce_rate": "bounced",
    "hard_bounce_rate": "hard bounced",
    "deferral_rate": "deferred",
    "complaint_rate": "complaints",
}


def choose_now(conn: sa.Connection, tenant: str | None, wall_clock: Callable[[], datetime]) -> tuple[datetime, str]:
    """Return the time the windows end at, and a note saying how it was chosen.

    When the newest data is older than the shortest window, the store
    contains historical data (an imported log, say). Windows ending at the
    wall clock would then be empty, so they end at the newest data instead.
    """
    now = wall_clock()
    latest = latest_event_time(conn, tenant)
    if latest is not None and latest < now - WINDOWS[0][1]:
        return latest, "the latest event in the store, because the data is historical; use --now to choose"
    return now, "now"


def format_rate(rate: Rate) -> str:
    if rate.value is None:
        return "- (n=0)"
    return "%.2f%% (n=%d)" % (100 * rate.value, rate.denominator)


def total_row(rows: list[CountRow]) -> CountRow:
    total = CountRow.zero(("all",))
    for row in rows:
        total = total + row
    return total


def window_table(title: str, rows: list[CountRow]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("provider")
    table.add_column("sent", justify="right")
    for name in RATE_NAMES:
        table.add_column(RATE_TITLES[name], justify="right")
    for row in rows + ([total_row(rows)] if len(rows) > 1 else []):
        rates = rates_for(row)
        table.add_row(row.key[0], str(sent_volume(row)), *(format_rate(rates[name]) for name in RATE_NAMES))
    return table


def alerts_table(alerts) -> Table:
    table = Table(title="firing alerts", title_justify="left")
    for column in ("id", "severity", "rule", "labels", "firing since", "summary"):
        table.add_column(column)
    for alert in alerts:
        labels = ", ".join("%s=%s" % item for item in sorted(alert.labels.items()))
        since = alert.fired_at or alert.pending_since
        table.add_row(str(alert.id), alert.severity.value, alert.rule, labels, since.strftime("%Y-%m-%d %H:%M UTC"), alert.summary)
    return table


@click.command("status")
@config_option
@store_option
@click.option("--now", "now_text", help="End the windows at this time (ISO 8601, UTC when no offset). Default: see below.")
@click.option("--tenant", help="Show only this tenant. Default: all tenants together.")
def command(config_path: str | None, store_url: str | None, now_text: str | None, tenant: str | None) -> None:
    """Show per-provider volume and rates for the last hour and the last day, and the firing alerts.

    Windows end at --now. By default they end at the current time, or at
    the latest event in the store when that is more than an hour old
    (imported historical logs). Each rate shows its denominator as n.
    """
    config = load_settings(config_path, store_url)
    engine = open_store(config)
    console = Console()
    try:
        with engine.connect() as conn:
            if now_text:
                now, reason = parse_time(now_text), "--now"
            else:
                now, reason = choose_now(conn, tenant, lambda: datetime.now(timezone.utc))
            console.print("Windows end at %s (%s)." % (now.strftime("%Y-%m-%d %H:%M:%S UTC"), reason))
            for title, length in WINDOWS:
                rows = query_counts(conn, start=now - length, end=now, group_by=("provider",), tenant=tenant)
                console.print(window_table("%s (%s to %s)" % (title, short(now - length), short(now)), rows))
            firing = alert_store.list_alerts(conn, states=(AlertState.FIRING,), tenant=tenant)
            if firing:
                console.print(alerts_table(firing))
            else:
                console.print("No firing alerts.")
    finally:
        engine.dispose()


def short(time: datetime) -> str:
    return time.strftime("%m-%d %H:%M")
