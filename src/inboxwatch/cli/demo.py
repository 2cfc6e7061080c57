"""`inboxwatch demo`: run the whole pipeline on generated data and show what it found."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.table import Table

from inboxwatch.analysis.rates import rates_for
from inboxwatch.demo.run import DemoResult, run_demo
from inboxwatch.store.metrics import CountRow


# Notifications listed after the demo; the rest are counted.
SHOWN_NOTIFICATIONS = 5


def percent(rate) -> str:
    return "-" if rate.value is None else "%.2f%%" % (100.0 * rate.value)


def counts_table(title: str, columns: list[str], rows: list[CountRow]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for name in ("delivered", "bounced (hard)", "deferrals", "delivery", "bounce", "deferral"):
        table.add_column(name, justify="right")
    for row in rows:
        rates = rates_for(row)
        table.add_row(
            *[value or "-" for value in row.key],
            str(row.delivered),
            "%d (%d)" % (row.bounced, row.hard_bounced),
            str(row.deferred),
            percent(rates["delivery_rate"]),
            percent(rates["bounce_rate"]),
            percent(rates["deferral_rate"]),
        )
    return table


def by_volume(rows: list[CountRow]) -> list[CountRow]:
    return sorted(rows, key=lambda row: (-(row.delivered + row.bounced), row.key))


def worst_by_bounce_rate(rows: list[CountRow], limit: int) -> list[CountRow]:
    def bounce_rate(row: CountRow) -> float:
        return rates_for(row)["bounce_rate"].value or 0.0

    return sorted(rows, key=lambda row: (-bounce_rate(row), row.key))[:limit]


def rate_with_counts(value: float | None, numerator: int | None, denominator: int | None) -> str:
    if value is None:
        return "-"
    text = "%.2f%%" % (100.0 * value)
    if numerator is not None and denominator is not None:
        text += " (%d/%d)" % (numerator, denominator)
    return text


def alerts_table(result: DemoResult) -> Table:
    table = Table(
        title="Alerts that fired (peak: the worst value while firing; last: the value at the last evaluation)",
        title_justify="left",
    )
    for column in ("rule", "severity", "affected", "fired", "resolved", "peak", "peak at", "last"):
        table.add_column(column, overflow="fold")
    fired = [alert for alert in result.alerts if alert.fired_at is not None]
    for alert in sorted(fired, key=lambda a: (a.fired_at, a.rule)):
        affected = ", ".join("%s=%s" % item for item in sorted(alert.labels.items()) if item[0] != "tenant")
        peak = result.peaks.get(alert.id)
        table.add_row(
            alert.rule,
            alert.severity.value,
            affected,
            alert.fired_at.strftime("%H:%M"),
            alert.resolved_at.strftime("%H:%M") if alert.resolved_at else "-",
            rate_with_counts(peak.value, peak.numerator, peak.denominator) if peak else "-",
            peak.at.strftime("%H:%M") if peak else "-",
            rate_with_counts(alert.value, alert.annotations.get("numerator"), alert.denominator),
        )
    return table


@click.command("demo")
@click.option("--messages", type=click.IntRange(100, 1_000_000), default=20_000, show_default=True,
              help="Messages in the generated day of traffic.")
def command(messages: int) -> None:
    """Run the whole pipeline on a generated day of traffic, in a temporary SQLite store.

    The day has an incident: Microsoft rejects one sending IP's mail for an
    hour. The demo ingests the log, evaluates the alert rules minute by
    minute, sends the notifications to a webhook receiver it runs on
    loopback, prints what an operator would see, and removes everything.
    """
    # Wide enough for the tables even when the output is not a terminal.
    console = Console(width=max(Console().width, 110))
    started = time.monotonic()
    result = run_demo(messages=messages, progress=lambda message: console.print("[dim]%s[/dim]" % message))

    console.print()
    console.print("[bold]Day replayed:[/bold] %s (UTC), %d log lines, %d events stored, %d rejected"
                  % (result.day.date().isoformat(), result.log_lines, result.ingest.events_stored, result.ingest.rejected))
    console.print(counts_table("Per mailbox provider (rates over the whole day)", ["provider"], by_volume(result.by_provider)))
    console.print(counts_table("Sending IP and provider pairs with the highest bounce rates", ["sending IP", "provider"],
                               worst_by_bounce_rate(result.by_ip, 5)))
    console.print(alerts_table(result))
    console.print("[bold]Notifications:[/bold] %d sent to the demo webhook receiver, %d to retry, %d failed"
                  % (result.notifications.sent, result.notifications.retry, result.notifications.failed))
    for payload in result.received[:SHOWN_NOTIFICATIONS]:
        console.print("  received: %s" % payload.get("subject", "(no subject)"))
    if len(result.received) > SHOWN_NOTIFICATIONS:
        console.print("  ... and %d more" % (len(result.received) - SHOWN_NOTIFICATIONS))
    console.print("[dim]Finished in %.1f s; the temporary store was removed.[/dim]" % (time.monotonic() - started))
