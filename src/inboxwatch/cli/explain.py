"""`inboxwatch explain`: show why each recipient of a bounce got its reason."""

from __future__ import annotations

import click

from inboxwatch.classify.bounce_patterns import RULES_BY_NAME
from inboxwatch.classify.provider_codes import CODE_TABLES_BY_NAME
from inboxwatch.sources.files import expand_paths, parse_path

# Sources of a record's facts, by the record's `format`.
FORMAT_PATHS = {
    "rfc3464": "RFC 3464 delivery-status fields (Final-Recipient, Status, Diagnostic-Code)",
    "text": "the human-readable text of a non-standard notice",
}


def rule_description(rule_name: str | None) -> str:
    """Describe the rule that decided a reason, in words a person can check."""
    if not rule_name:
        return "no rule matched: the notice gives nothing to classify by"
    base = rule_name.split(" ", 1)[0]
    if base in RULES_BY_NAME:
        text = "text rule %s (%s)" % (rule_name, RULES_BY_NAME[base].covers)
        return text
    if base in CODE_TABLES_BY_NAME:
        return "provider code table %s (%s)" % (rule_name, CODE_TABLES_BY_NAME[base].covers)
    if base == "status":
        return "enhanced status code %s (RFC 3463), because no text rule matched" % rule_name.split(" ", 1)[1]
    if base == "reply-code":
        return "SMTP reply code %s (RFC 5321), because no text rule or enhanced code decided" % rule_name.split(" ", 1)[1]
    if base == "action":
        return "the DSN Action field"
    if base == "diagnostic-type":
        return "the Diagnostic-Code type X-Unix: a local delivery program failed"
    if base == "recipient-domain":
        return "the recipient's domain, whose bounces carry no usable text"
    return rule_name


def explain_record(record) -> list[str]:
    data = record.to_json()
    kind = data.get("kind")
    if kind == "complaint":
        return [
            "complaint: feedback type %s" % data["feedback_type"],
            "  reported by %s, source IP %s, original recipient %s"
            % (data.get("user_agent"), data.get("source_ip"), data.get("original_rcpt_to")),
        ]
    if kind == "auto-reply":
        return ["auto-reply (not a bounce): marked by %s" % data["evidence"]]
    lines = [
        "%s: %s (%s)" % (data.get("recipient") or "<no recipient found>", data["reason"], "hard" if data["hard"] else "soft"),
        "  status %s, SMTP reply code %s, action %s"
        % (data.get("status") or "none", data.get("smtp_code") or "none", data.get("action") or "none"),
        "  read from: %s" % FORMAT_PATHS.get(data.get("format") or "", data.get("format") or "unknown"),
        "  decided by: %s" % rule_description(data.get("rule")),
    ]
    if data.get("matched"):
        lines.append("  matched: %r" % data["matched"])
    if data.get("diagnostic"):
        lines.append("  diagnostic: %s" % data["diagnostic"][:500])
    return lines


@click.command("explain")
@click.argument("paths", nargs=-1, required=True)
def command(paths: tuple[str, ...]) -> None:
    """Explain how each bounce, complaint or auto-reply in PATHS was classified.

    Exits 1 when no input could be read.
    """
    readable = 0
    for path in expand_paths(paths):
        outcome = parse_path(path, "bounce")
        click.echo("%s: %s, %d records" % (path, outcome.kind, len(outcome.records)))
        if outcome.error:
            click.echo("  error: %s" % outcome.error)
        if outcome.records or not outcome.error:
            readable += 1
        for item in outcome.rejected:
            click.echo("  skipped: %s" % item.error)
        for record in outcome.records:
            for line in explain_record(record):
                click.echo("  " + line)
    if not readable:
        raise click.ClickException("no input could be read")
