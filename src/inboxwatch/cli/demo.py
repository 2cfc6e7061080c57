"""`inboxwatch demo`: run the whole pipeline on generated data and show what it found."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.table import Table

from inboxwatch.analysis.rates import rates_for
from inboxwatch.demo.run import DemoResult, run_demo
from inboxwatch.store.metrics import CountRow


def percent(rate) -> str:
    return "-" if rate.value is None else "%.2f%%" % (100.0 * rate.value)


def counts_table(title: str, columns: list[str], rows: list[CountRow]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for name in ("sent", "delivered", "deferred", "bounced", "hard"):
        table.add_column(name, justify="right")
    for name in ("delivery", "bounce", "deferral"):
        table.add_column(name + " rate", justify="right")
    for row in sorted(rows, key=lambda r: (-r.sent, r.key)):
        rates = rates_for(row)
        table.add_row(
            *[value or "-" for value in row.key],
            str(row.sent), str(row.delivered), str(row.deferred), str(row.bounced), str(row.hard_bounced),
            percent(rates["delivery_rate"]), percent(rates["bounce_rate"]), percent(rates["deferral_rate"]),
        )
    return table


def alerts_table(result: DemoResult) -> Table:
    table = Table(title="Alerts raised", title_justify="left")
    for column in ("rule", "severity", "affected", "fired", "resolved", "summary"):
        table.add_column(column)
    for alert in sorted(result.alerts, key=lambda a: (a.fired_at or a.pending_since, a.rule)):
        affected = ", ".join("%s=%s" % item for item in sorted(alert.labels.items()) if item[0] != "tenant")
        table.add_row(
            alert.rule,
            alert.severity.value,
            affected,
            alert.fired_at.strftime("%H:%M") if alert.fired_at else "never (pending)",
            alert.resolved_at.strftime("%H:%M") if alert.resolved_at else "-",
            alert.summary,
        )
    return table


@click.command("demo")
@click.option("--messages", type=click.IntRange(100, 1_000_000), default=30_000, show_default=True,
              help="Messages in the generated day of traffic.")
def command(messages: int) -> None:
    """Run the whole pipeline on a generated day of traffic, in a temporary SQLite store.

    The day has an incident: Microsoft rejects one sending IP's mail for an
    hour. The demo ingests the log, evaluates the alert rules minute by
    minute, sends the notifications to a webhook receiver it runs on
    loopback, prints what an operator would see, and removes everything.
    """
    console = Console()
    started = time.monotonic()
    result = run_demo(messages=messages, progress=lambda message: console.print("[dim]%s[/dim]" % message))

    console.print()
    console.print("[bold]Day replayed:[/bold] %s (UTC), %d log lines, %d events stored, %d rejected"
                  % (result.day.date().isoformat(), result.log_lines, result.ingest.events_stored, result.ingest.rejected))
    console.print(counts_table("Per mailbox provider", ["provider"], result.by_provider))
    console.print(counts_table("Per sending IP and provider", ["sending IP", "provider"], result.by_ip))
    console.print(alerts_table(result))
    console.print("[bold]Notifications:[/bold] %d sent to the demo webhook receiver, %d to retry, %d failed"
                  % (result.notifications.sent, result.notifications.retry, result.notifications.failed))
    for payload in result.received[:5]:
        console.print("  received: [%s] %s" % (payload.get("reason", "?"), payload.get("summary", payload)))
    console.print("[dim]Finished in %.1f s; the temporary store was removed.[/dim]" % (time.monotonic() - started))
