"""SMTP TLS reports (RFC 8460).

Reads the JSON report bare, gzip-compressed, or attached to an email as
`application/tlsrpt+json`, `application/tlsrpt+gzip` or any other type
(some reporters attach plain JSON). Deviations seen from real reporters are
accepted: `mx-host` as a list instead of a string, a missing session count
(read as 0), and unknown policy types (kept, with a warning).

A policy with no `policy-domain` is kept in the report with `domain` None and
also yielded as `Rejected`, so its sessions still count in the totals. A
policy whose session counts are not numbers is left out and yielded as
`Rejected`. Only a report that is not JSON, or lacks `report-id` or
`policies`, is rejected whole.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.model.reports import TlsFailureDetail, TlsPolicy, TlsReport
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject
from inboxwatch.parsers.containers import read_input, unpack
from inboxwatch.parsers.jsoninput import iso_to_datetime
from inboxwatch.parsers.reportkinds import TLSRPT, classify_document, sniff_report

log = logging.getLogger(__name__)

# RFC 8460 section 4.4 ("policy-type").
KNOWN_POLICY_TYPES = frozenset({"sts", "tlsa", "no-policy-found"})

WHITESPACE = re.compile(r"\s+")


def sniff(head: bytes, name: str) -> int:
    return sniff_report(head, TLSRPT)


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield each `TlsReport` in the input, preceded by a `Rejected` item for each bad policy.

    Raises `ParseError` when the input contains no TLS report, or contains
    one that cannot be read. When it contains several, an unreadable one is
    yielded as `Rejected` and the others are still read.
    """
    data = read_input(stream, context.source)
    unpacked = unpack(data, context.source)
    documents = [
        document
        for document in unpacked.documents
        if classify_document(document.content, document.content_type) == TLSRPT
    ]
    if not documents:
        raise ParseError(
            "no SMTP TLS report found: expected a JSON object with organization-name and policies, "
            "bare or in gzip, zip or an email attachment",
            source=context.source,
        )

    for document in documents:
        try:
            items = list(parse_report(document.content, context.source, unpacked.warnings))
        except ParseError as exc:
            if len(documents) == 1:
                raise
            yield reject(exc.message, document.content, source=context.source, field=document.path or None)
            continue
        yield from items


def parse_report(content: bytes, source: str, warnings: list[str] | None = None) -> Iterator[TlsReport | Rejected]:
    """Yield a `Rejected` item for each unreadable policy, then the report."""
    report = _load_json_object(content, source)
    report_id = _string(report.get("report-id"))
    if report_id is None:
        raise ParseError("missing report-id in the SMTP TLS report", source=source, field="report-id")
    raw_policies = report.get("policies")
    if not isinstance(raw_policies, list):
        raise ParseError(
            "missing or invalid policies in the SMTP TLS report: expected a list, got %s" % type(raw_policies).__name__,
            source=source,
            field="policies",
        )

    notes = list(warnings or [])
    date_range = report.get("date-range") if isinstance(report.get("date-range"), dict) else {}
    begin = _unix_time(date_range.get("start-datetime"), "date-range.start-datetime", notes)
    end = _unix_time(date_range.get("end-datetime"), "date-range.end-datetime", notes)

    policies = []
    for number, raw_policy in enumerate(raw_policies, start=1):
        field = "policies[%d]" % number
        try:
            policy = _policy(raw_policy, field, source)
        except ParseError as exc:
            yield reject(exc.message, json.dumps(raw_policy), source=source, field=field)
            continue
        if policy.error:
            yield reject(policy.error, json.dumps(raw_policy), source=source, field=field)
        if policy.type not in KNOWN_POLICY_TYPES:
            notes.append("%s has an unknown policy-type %r" % (field, policy.type))
        policies.append(policy)

    for note in notes:
        log.warning("%s: %s", source, note)
    yield TlsReport(
        organization=_string(report.get("organization-name")),
        report_id=report_id,
        begin=begin,
        end=end,
        contact_info=_string(report.get("contact-info")),
        policies=tuple(policies),
        warnings=tuple(notes),
    )


def _load_json_object(content: bytes, source: str) -> dict[str, Any]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError("invalid SMTP TLS report: not UTF-8 (invalid byte at offset %d)" % exc.start, source=source) from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            "invalid JSON in the SMTP TLS report: %s (line %d, column %d)" % (exc.msg, exc.lineno, exc.colno),
            source=source,
            line=exc.lineno,
        ) from None
    if not isinstance(report, dict):
        raise ParseError("invalid SMTP TLS report: expected a JSON object, got %s" % type(report).__name__, source=source)
    return report


def _policy(raw: Any, field: str, source: str) -> TlsPolicy:
    if not isinstance(raw, dict) or not isinstance(raw.get("policy"), dict):
        raise ParseError("invalid %s: expected an object with a policy object" % field, source=source, field=field)
    policy = raw["policy"]
    summary = raw.get("summary") if isinstance(raw.get("summary"), dict) else {}
    domain = _string(policy.get("policy-domain"))
    policy_type = _string(policy.get("policy-type"))
    return TlsPolicy(
        domain=domain,
        type=policy_type.lower() if policy_type else None,
        successful=_count(summary.get("total-successful-session-count"), field + ".summary", source),
        failed=_count(summary.get("total-failure-session-count"), field + ".summary", source),
        policy_strings=_strings(policy.get("policy-string")),
        mx_hosts=_strings(policy.get("mx-host")),
        failure_details=tuple(
            _failure_detail(detail, "%s.failure-details[%d]" % (field, number), source)
            for number, detail in enumerate(_list(raw.get("failure-details")), start=1)
        ),
        error=None if domain else "missing policy-domain in %s, so its sessions count only in the report totals" % field,
    )


def _failure_detail(raw: Any, field: str, source: str) -> TlsFailureDetail:
    if not isinstance(raw, dict):
        raise ParseError("invalid %s: expected an object" % field, source=source, field=field)
    result_type = _string(raw.get("result-type"))
    return TlsFailureDetail(
        result_type=result_type.lower() if result_type else None,
        failed_session_count=_count(raw.get("failed-session-count"), field, source),
        sending_mta_ip=_string(raw.get("sending-mta-ip")),
        receiving_mx_hostname=_string(raw.get("receiving-mx-hostname")),
        receiving_mx_helo=_string(raw.get("receiving-mx-helo")),
        receiving_ip=_string(raw.get("receiving-ip")),
        additional_information=_string(raw.get("additional-information")),
        failure_reason_code=_string(raw.get("failure-reason-code")),
    )


def _count(value: Any, field: str, source: str) -> int:
    """Read a session count; an absent count is 0, anything but a whole number is an error."""
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and WHITESPACE.sub("", value).isdigit():
        return int(WHITESPACE.sub("", value))
    raise ParseError("invalid session count in %s: %r is not a whole number" % (field, value), source=source, field=field)


def _unix_time(value: Any, field: str, notes: list[str]) -> int | None:
    if value is None:
        notes.append("missing %s" % field)
        return None
    parsed = iso_to_datetime(value)
    if parsed is None:
        notes.append("ignored invalid %s %r: expected an RFC 3339 date-time" % (field, value))
        return None
    return int(parsed.timestamp())


def _string(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _strings(value: Any) -> tuple[str, ...]:
    """Read a string or a list of strings, as reporters send `mx-host` both ways."""
    return tuple(text for text in (_string(item) for item in _list(value)) if text)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


PARSER = ParserSpec(
    kind=TLSRPT,
    description="SMTP TLS report (RFC 8460; JSON, gzip or email)",
    sniff=sniff,
    parse=parse,
)
