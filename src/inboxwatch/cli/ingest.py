"""`inboxwatch ingest`: parse inputs and store their events, idempotently."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Mapping

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from inboxwatch.cli.settings import config_option, load_settings, open_store, store_option
from inboxwatch.service.ingest import IngestInterrupted, IngestOptions, IngestSummary, InputSummary
from inboxwatch.model.text import plural
from inboxwatch.service.mail_ingest import ingest_inputs

# Inputs smaller than this finish too quickly for a progress bar to help.
PROGRESS_MIN_BYTES = 8 * 1024 * 1024


class ProgressDisplay:
    """A rich progress bar per large input, by bytes read, on standard error."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> "ProgressDisplay":
        self.progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.progress.stop()

    def update(self, source: str, done: int, total: int | None) -> None:
        if source not in self.tasks:
            # Unknown sizes (stdin, gzip) may be large, so they get a bar too.
            if total is not None and total < PROGRESS_MIN_BYTES:
                return
            self.tasks[source] = self.progress.add_task(source, total=total)
        self.progress.update(self.tasks[source], completed=done)


def describe_kinds(counts: Mapping[str, int]) -> str:
    """Write counts per kind, most first: "bounce 2, complaint 1"."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join("%s %d" % item for item in ordered)


def describe_input(summary: InputSummary) -> list[str]:
    lines = []
    if summary.error and not summary.was_read:
        lines.append("  %s: not read: %s" % (summary.source, summary.error))
        return lines
    line = "  %s (%s): %d stored, %d duplicates, %d rejected" % (
        summary.source,
        summary.kind,
        summary.events_stored,
        summary.duplicates,
        summary.rejected,
    )
    if summary.records_handled or summary.records_unhandled:
        line += ", %d other records stored, %d not stored (no handler)" % (summary.records_handled, summary.records_unhandled)
    lines.append(line)
    if summary.record_kinds:
        lines.append("    records: %s" % describe_kinds(summary.record_kinds))
    if summary.error:
        lines.append("    stopped early: %s" % summary.error)
    for reason in summary.reasons:
        lines.append("    rejected: %s" % reason)
    return lines


# The shell's status for a command stopped by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def request_stop(stop: threading.Event) -> None:
    """Handle the first Ctrl-C: finish the batch in hand, then stop. A second one aborts at once."""
    stop.set()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    click.echo("stopping after the current batch (Ctrl-C again to abort at once)", err=True)


def print_summary(summary: IngestSummary) -> None:
    click.echo(
        "read %d of %s: %s stored, %s skipped, %s rejected"
        % (
            summary.inputs_read,
            plural(len(summary.inputs), "input"),
            plural(summary.events_stored, "event"),
            plural(summary.duplicates, "duplicate"),
            plural(summary.rejected, "item"),
        )
    )
    for item in summary.inputs:
        for line in describe_input(item):
            click.echo(line)
    if summary.rejected:
        click.echo("rejected items are kept in the store's quarantine table with their raw text")


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option("--kind", help="Input format (see `inboxwatch parse --list-kinds`); detected per input when absent.")
@config_option
@store_option
def command(paths: tuple[str, ...], kind: str | None, config_path: str | None, store_url: str | None) -> None:
    """Store the events and reports in PATHS: files, folders (every file under them), .gz files, maildirs, mbox files, or - for standard input.

    A folder with cur/, new/ and tmp/ is read as a maildir and a file that
    starts with "From " as an mbox; each message in them is detected and
    parsed on its own, and the mailbox is left unchanged.

    Ingesting the same input again stores nothing twice. Unreadable inputs
    and bad lines are quarantined with the reason. Exits with status 1 only
    when no input could be read.
    """
    config = load_settings(config_path, store_url)
    options = IngestOptions.from_config(config)
    engine = open_store(config)
    console = Console(stderr=True)
    stop = threading.Event()
    previous_handler = signal.signal(signal.SIGINT, lambda signum, frame: request_stop(stop))
    try:
        if console.is_terminal:
            with ProgressDisplay(console) as display:
                summary = ingest_inputs(engine, paths, kind=kind, options=options, progress=display.update, stop=stop)
        else:
            summary = ingest_inputs(engine, paths, kind=kind, options=options, stop=stop)
    except IngestInterrupted as interrupted:
        print_summary(interrupted.summary)
        click.echo("interrupted: run the same command again to store the rest; nothing is stored twice", err=True)
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        engine.dispose()

    print_summary(summary)
    if summary.inputs_read == 0:
        click.echo("error: no input could be read", err=True)
        sys.exit(1)
