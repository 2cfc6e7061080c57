"""`inboxwatch evaluate`: run the threshold rules once, or replay a time range, and print alert changes."""

from __future__ import annotations

import click

from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.config.durations import parse_duration
from inboxwatch.errors import InboxwatchError
from inboxwatch.service.evaluate import EvaluationSummary, evaluate_range, run_evaluation

# Decisions worth a line of output; updates and held pending alerts are not.
REPORTED_DECISIONS = ("opened", "fired", "raised", "flapping", "resolved", "cleared")


@click.command("evaluate")
@config_option
@store_option
@click.option("--at", "at_text", help="Evaluate at this time (ISO 8601, UTC if no offset). Default: now.")
@click.option("--from", "from_text", help="Replay from this time (ISO 8601, UTC if no offset); needs --to.")
@click.option("--to", "--until", "to_text", help="Replay up to this time, inclusive; not before --from.")
@click.option("--step", default="1m", show_default=True, help="Time between replayed evaluations, such as 1m or 5m.")
@click.option("--no-notify", is_flag=True, help="Change alerts but queue no notifications (for replaying old logs).")
def command(
    config_path: str | None,
    store_url: str | None,
    at_text: str | None,
    from_text: str | None,
    to_text: str | None,
    step: str,
    no_notify: bool,
) -> None:
    """Evaluate the threshold rules on stored events and print what fired and resolved.

    Times are event times: --from/--to replays history so that old logs
    raise their alerts at the times the problems happened.
    """
    if (from_text is None) != (to_text is None):
        raise click.UsageError("--from and --to go together: give both, or neither")
    if at_text is not None and from_text is not None:
        raise click.UsageError("give either --at or --from/--to, not both")
    try:
        step_delta = parse_duration(step)
    except ValueError as exc:
        raise click.BadParameter("invalid --step %r: %s" % (step, exc)) from None

    time_range = None
    if from_text is not None:
        time_range = (parse_time(from_text), parse_time(to_text))
        if time_range[0] > time_range[1]:
            raise click.UsageError(
                "invalid time range: --from %s is later than --to %s; give the earlier time to --from"
                % (from_text, to_text)
            )

    config = load_settings(config_path, store_url)
    engine = open_store(config)
    try:
        if time_range is not None:
            summaries = evaluate_range(engine, config, *time_range, step_delta, notify=not no_notify)
        else:
            summaries = [run_evaluation(engine, config, parse_time(at_text or "now"), notify=not no_notify)]
    except (InboxwatchError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()

    print_summaries(summaries)


def print_summaries(summaries: list[EvaluationSummary]) -> None:
    for summary in summaries:
        for item in summary.outcomes:
            if item.outcome.decision not in REPORTED_DECISIONS or item.alert is None:
                continue
            alert = item.alert
            click.echo(
                "%s  %-9s alert %d  %-8s %s"
                % (summary.at.isoformat(), item.outcome.decision, alert.id, alert.severity.value, alert.summary)
            )
    fired = sum(len(summary.alerts("fired")) for summary in summaries)
    resolved = sum(len(summary.alerts("resolved")) for summary in summaries)
    queued = sum(summary.notifications for summary in summaries)
    noun = "evaluation" if len(summaries) == 1 else "evaluations"
    click.echo("%d %s: %d fired, %d resolved, %d notifications queued" % (len(summaries), noun, fired, resolved, queued))
    if summaries and not any(summary.signals for summary in summaries):
        # A rule judges nothing, breached or clear, for a group below its
        # min_volume, so an evaluation of quiet traffic reports no alert at all.
        click.echo(
            "no rule had enough messages to judge: every group stayed below its rule's min_volume in its window "
            "(100 messages by default); lower min_volume or widen window for this traffic (see docs/alerts.md)"
        )
