"""`inboxwatch parse`: print parsed records without storing them."""

from __future__ import annotations

import json
import sys

import click

from inboxwatch.parsers.registry import all_parsers
from inboxwatch.sources.files import expand_paths, parse_path

# Rejected items listed per input in the JSON output; the count is complete.
MAX_LISTED_PROBLEMS = 20


def outcome_json(path: str, outcome) -> dict:
    error = str(outcome.error) if outcome.error else None
    if error is None and outcome.rejected and not outcome.records:
        error = str(outcome.rejected[0].error)
    return {
        "file": path,
        "kind": outcome.kind,
        "error": error,
        "records": [record.to_json() for record in outcome.records],
        "problems": [str(item.error) for item in outcome.rejected[:MAX_LISTED_PROBLEMS]],
        "problem_count": len(outcome.rejected),
    }


@click.command("parse")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per input (JSON Lines).")
@click.option("--kind", help="Input format; detected from the content when absent.")
@click.option("--list-kinds", is_flag=True, help="List the known input formats and exit.")
@click.argument("paths", nargs=-1)
def command(as_json: bool, kind: str | None, list_kinds: bool, paths: tuple[str, ...]) -> None:
    """Parse PATHS (files, folders, - for stdin) and print the records.

    Nothing is stored. Exits 0 even when some inputs are bad: each input's
    error is printed with it.
    """
    if list_kinds:
        for spec in all_parsers():
            click.echo("%-12s %s" % (spec.kind, spec.description))
        return
    if not paths:
        raise click.UsageError("give at least one PATH (a file, a folder or - for stdin)")

    for path in expand_paths(paths):
        outcome = parse_path(path, kind)
        if as_json:
            sys.stdout.write(json.dumps(outcome_json(path, outcome), default=str) + "\n")
            continue
        click.echo("%s: %s, %d records" % (path, outcome.kind, len(outcome.records)))
        if outcome.error:
            click.echo("  error: %s" % outcome.error)
        for item in outcome.rejected[:MAX_LISTED_PROBLEMS]:
            click.echo("  skipped: %s" % item.error)
        for record in outcome.records:
            click.echo("  " + json.dumps(record.to_json(), default=str))
