"""`inboxwatch grades`: delivery, bounce and complaint grades per provider, with recommendations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click

from inboxwatch.analysis.grades import GradeReport, build_benchmarks, default_tables, grade_providers, missing_data_note
from inboxwatch.analysis.rules import PROVIDER_NAMES, percent
from inboxwatch.cli.settings import config_option, load_settings, open_store, parse_time, store_option
from inboxwatch.model.text import plural
from inboxwatch.service.complaint_sources import has_complaint_data
from inboxwatch.service.grade_inputs import postmaster_spam_rate
from inboxwatch.store.bounce_reasons import bounce_reason_counts
from inboxwatch.store.metrics import query_counts


@click.command("grades")
@click.option("--days", type=click.IntRange(min=1, max=366), help="Window length in days, ending at --now. Default: [grades] days (7).")
@click.option("--now", "now_text", default="now", show_default=True, help="End of the window (ISO 8601 time or now).")
@click.option("--tenant", help="Only this tenant's mail. Default: every tenant together.")
@config_option
@store_option
def command(days: int | None, now_text: str, tenant: str | None, config_path: str | None, store_url: str | None) -> None:
    """Grade each mailbox provider's delivery, bounce and complaint rates against benchmark tables.

    The tables, their sources and how to override them are in
    docs/grades.md. A provider with too little volume is not graded.
    """
    config = load_settings(config_path, store_url)
    days = days or config.grades.days
    end = parse_time(now_text) if now_text != "now" else datetime.now(timezone.utc)
    benchmarks = build_benchmarks(
        default_tables(),
        {name: table.model_dump() for name, table in config.grades.metrics.items()},
        {provider.value: {name: table.model_dump() for name, table in tables.items()} for provider, tables in config.grades.providers.items()},
    )
    engine = open_store(config)
    try:
        with engine.connect() as conn:
            start = end - timedelta(days=days)
            rows = query_counts(conn, start=start, end=end, group_by=("provider",), tenant=tenant)
            complaint_data = has_complaint_data(conn, config, end, tenant)
            spam_rate = postmaster_spam_rate(conn, tenant, start, end)
            reasons = bounce_reason_counts(conn, start, end, tenant)
    finally:
        engine.dispose()
    report = grade_providers(
        rows, benchmarks, days, config.grades.min_volume, complaint_data=complaint_data, postmaster_spam=spam_rate, bounce_reasons=reasons
    )
    click.echo(render(report, config.grades.min_volume))


def render(report: GradeReport, min_volume: int) -> str:
    if not report.providers:
        return "No mail in the last %s: nothing to grade." % plural(report.days, "day")
    lines = ["Grades over the last %s" % plural(report.days, "day"), ""]
    lines.append("%-16s %10s  %-22s %-22s %-22s %s" % ("provider", "sent", "delivery", "bounce", "complaint", "overall"))
    for provider in report.providers:
        cells = []
        for item in provider.metrics:
            if item.source:
                cells.append("%s %s (Postmaster)" % (item.grade or "-", percent(item.value)) if item.value is not None else "- (Postmaster)")
            elif not item.has_data:
                cells.append("no data")
            elif item.rate.value is None:
                cells.append("- (n=0)")
            elif item.grade is None:
                cells.append("%s n=%d, too few" % (percent(item.rate.value), item.rate.denominator))
            else:
                cells.append("%s %s (n=%d)" % (item.grade, percent(item.rate.value), item.rate.denominator))
        name = PROVIDER_NAMES.get(provider.provider, provider.provider)
        lines.append("%-16s %10d  %-22s %-22s %-22s %s" % (name, provider.volume, *cells, provider.overall or "-"))
    lines.append("")
    overall = report.overall or "- (no provider has %d messages)" % min_volume
    note = missing_data_note(report)
    lines.append("Overall grade: %s" % (overall if note is None else "%s (%s)" % (overall, note)))
    for source in sorted({"%s %s: %s" % (PROVIDER_NAMES.get(provider.provider, provider.provider), item.metric.replace("_", " "), item.source) for provider in report.providers for item in provider.metrics if item.source}):
        lines.append("Source of %s" % source)
    if report.recommendations:
        lines.append("")
        lines.append("Recommendations:")
        lines.extend("- " + text for text in report.recommendations)
    sources = {item.table.source for provider in report.providers for item in provider.metrics}
    lines.append("")
    lines.append("Benchmark sources:")
    lines.extend("- " + source for source in sorted(sources))
    return "\n".join(lines)
