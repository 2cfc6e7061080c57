"""Judging the sources in DMARC aggregate reports: what each one calls for, and new sources failing DMARC.

Pure: no I/O and no clock. A source is an IP address that sent mail with
the domain in its From header. Whether it is one of ours comes from
`KnownSenders`, which separates "our mail failing" (fix the sender's DKIM
or SPF alignment) from "someone spoofing us" (a policy of quarantine or
reject is what stops it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from inboxwatch.analysis.senders import SenderIdentity
from inboxwatch.model.alerts import Alert, Severity, Signal
from inboxwatch.store.reports import SourceSummary

DMARC_NEW_SOURCE_RULE = "dmarc_new_source"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The action a source's results call for: a short code for machines and advice for people."""

    code: str
    advice: str


def judge_source(source: SourceSummary, identity: SenderIdentity) -> Verdict:
    """Decide what a source's DMARC results and identity call for."""
    failing = source.messages - source.dmarc_pass
    if identity.known:
        if failing <= 0:
            return Verdict("ok", "our sender, passing")
        if source.dmarc_pass == 0:
            return Verdict("ours-failing", "our mail failing: sign with a DKIM key of the From domain or align its SPF domain")
        return Verdict("ours-partly-failing", "our mail partly failing: check forwarding and each sending path")
    if failing <= 0:
        return Verdict("unlisted-passing", "not a known sender but passing: add it to known_senders if it sends for you")
    if source.dmarc_pass == 0:
        return Verdict("spoofing", "unknown sender failing: spoofing, or a service of yours not set up for DMARC")
    return Verdict("unknown-partly-failing", "unknown sender partly failing: often a forwarder or mailing list relaying your mail")


def new_source_signals(
    domain: str,
    sources: Sequence[SourceSummary],
    first_seen: Mapping[str, datetime],
    *,
    window_start: datetime,
    identify: Callable[[str], SenderIdentity],
    min_failing: int,
    time: datetime,
    tenant: str = "default",
) -> list[Signal]:
    """Return a breached signal for each new source with at least `min_failing` messages failing DMARC.

    `sources` are the window's sources and `first_seen` the earliest report
    naming each source over a longer lookback. A source is new when it was
    first seen at or after `window_start`.
    """
    signals = []
    for source in sources:
        failing = source.messages - source.dmarc_pass
        seen = first_seen.get(source.source_ip, window_start)
        if seen < window_start or failing < min_failing:
            continue
        identity = identify(source.source_ip)
        sender_text = "known sender (%s)" % identity.matched_by if identity.known else "unknown sender"
        if identity.reverse_name:
            sender_text += ", %s" % identity.reverse_name
        summary = "%s: new source %s (%s) sent %d messages failing DMARC of %d, first reported %s" % (
            domain,
            source.source_ip,
            sender_text,
            failing,
            source.messages,
            seen.strftime("%Y-%m-%d %H:%M UTC"),
        )
        signals.append(
            Signal(
                rule=DMARC_NEW_SOURCE_RULE,
                severity=Severity.WARNING,
                labels={"tenant": tenant, "domain": domain, "source_ip": source.source_ip},
                breached=True,
                time=time,
                value=float(failing),
                threshold=float(min_failing),
                denominator=source.messages,
                summary=summary,
                annotations={"sender": identity.label, "verdict": judge_source(source, identity).code},
            )
        )
    return signals


def clear_resolved(
    open_alerts: Iterable[Alert], rule: str, breached: Iterable[Signal], scope: Mapping[str, str], time: datetime
) -> list[Signal]:
    """Return clear signals for the open alerts of `rule` within `scope` that no signal in `breached` renews.

    Rules that only ever emit breaches (a new source is new for a while,
    then simply stops being judged) use this to resolve their alerts.
    `scope` lists labels an alert must carry to be considered, such as its
    tenant and domain.
    """
    renewed = {frozenset(signal.labels.items()) for signal in breached}
    clears = []
    for alert in open_alerts:
        if alert.rule != rule or any(alert.labels.get(key) != value for key, value in scope.items()):
            continue
        if frozenset(alert.labels.items()) in renewed:
            continue
        clears.append(
            Signal(
                rule=rule,
                severity=alert.severity,
                labels=dict(alert.labels),
                breached=False,
                time=time,
                summary="%s no longer breached for %s" % (rule, ", ".join("%s=%s" % item for item in sorted(alert.labels.items()))),
            )
        )
    return clears
