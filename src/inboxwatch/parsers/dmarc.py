"""DMARC aggregate reports (RFC 7489 appendix C, and the DMARCbis schema).

Reads the RFC 7489 schema, the older draft schema, and DMARCbis reports in
the namespace urn:ietf:params:xml:ns:dmarc-2.0 (with `np`, `testing`,
`discovery_method` and `generator`, without `pct`). Real reporters deviate
from the schemas, so the reader is tolerant where the meaning stays clear:

* namespaces, unknown elements and `<extensions>` are ignored;
* enumerated values (results, dispositions, alignment modes) are lower-cased;
* whitespace inside numbers is dropped ("1603540702 ", "1 234");
* empty elements read as absent;
* a date range of any length is kept as given.

A count, `begin` or `end` that is not a whole number makes the report
invalid, since totals built on a guess would mislead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, BinaryIO
from xml.etree.ElementTree import Element

from inboxwatch.errors import ParseError
from inboxwatch.model.reports import (
    AggregateReport,
    AggregateRow,
    DkimAuthResult,
    PolicyOverride,
    PolicyPublished,
    SpfAuthResult,
)
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject
from inboxwatch.parsers.containers import read_input, unpack
from inboxwatch.parsers.reportkinds import DMARC_AGGREGATE, classify_document, sniff_report
from inboxwatch.parsers.xmlsafe import parse_xml

log = logging.getLogger(__name__)

DMARCBIS_NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"

WHOLE_NUMBER = re.compile(r"[0-9]+")
# Some reporters write Unix times with a fraction ("1538413632.0").
UNIX_TIME = re.compile(r"([0-9]+)(?:\.[0-9]*)?")
WHITESPACE = re.compile(r"\s+")


def sniff(head: bytes, name: str) -> int:
    return sniff_report(head, DMARC_AGGREGATE)


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield one `AggregateReport` per report document in the input.

    Raises `ParseError` when the input contains no report, or contains one
    report that cannot be read. When it contains several, an unreadable one
    is yielded as `Rejected` and the others are still read.
    """
    data = read_input(stream, context.source)
    unpacked = unpack(data, context.source)
    documents = [
        document
        for document in unpacked.documents
        if classify_document(document.content, document.content_type) == DMARC_AGGREGATE
    ]
    if not documents:
        raise ParseError(
            "no DMARC aggregate report found: expected an XML <feedback> document, "
            "bare or in gzip, zip or an email attachment",
            source=context.source,
        )

    for document in documents:
        try:
            report = parse_report(document.content, context.source, unpacked.warnings)
        except ParseError as exc:
            if len(documents) == 1:
                raise
            yield reject(exc.message, document.content, source=context.source, field=document.path or None)
            continue
        for warning in report.warnings:
            log.warning("%s: %s", context.source, warning)
        yield report


def parse_report(content: bytes, source: str, warnings: list[str] | None = None) -> AggregateReport:
    """Parse one aggregate report XML document."""
    document = parse_xml(content, "feedback", source)
    root = document.root
    if root.tag != "feedback":
        raise ParseError("not a DMARC aggregate report: the root element is <%s>, expected <feedback>" % root.tag, source=source)

    metadata = _required_child(root, "report_metadata", source)
    date_range = _required_child(metadata, "date_range", source)
    report_id = _text(metadata, "report_id")
    if report_id is None:
        raise ParseError("missing <report_id> in <report_metadata>", source=source, field="report_metadata/report_id")

    version = _text(root, "version")
    if version is None and document.namespace == DMARCBIS_NAMESPACE:
        version = "2.0"
    return AggregateReport(
        org_name=_text(metadata, "org_name"),
        email=_text(metadata, "email"),
        extra_contact_info=_text(metadata, "extra_contact_info"),
        report_id=report_id,
        begin=_unix_time(date_range, "begin", source),
        end=_unix_time(date_range, "end", source),
        errors=tuple(_texts(metadata, "error")),
        generator=_text(metadata, "generator"),
        version=version,
        policy=_policy_published(root.find("policy_published"), source),
        rows=tuple(_row(record, number, source) for number, record in enumerate(root.findall("record"), start=1)),
        warnings=tuple((warnings or []) + document.warnings),
    )


def _policy_published(element: Element | None, source: str) -> PolicyPublished:
    if element is None:
        return PolicyPublished(domain=None)
    pct_text = _text(element, "pct")
    pct = None
    if pct_text is not None:
        pct_digits = WHITESPACE.sub("", pct_text)
        if WHOLE_NUMBER.fullmatch(pct_digits):
            pct = int(pct_digits)
        else:
            # pct only scales the policy, so a bad value costs itself, not the report.
            log.warning("%s: ignored invalid <pct> %r: expected a whole number from 0 to 100", source, pct_text)
    return PolicyPublished(
        domain=_text(element, "domain"),
        p=_value(element, "p"),
        sp=_value(element, "sp"),
        np=_value(element, "np"),
        adkim=_value(element, "adkim"),
        aspf=_value(element, "aspf"),
        pct=pct,
        fo=_text(element, "fo"),
        testing=_value(element, "testing"),
        discovery_method=_value(element, "discovery_method"),
    )


def _row(record: Element, number: int, source: str) -> AggregateRow:
    # Each element's children are read once into a dict instead of one
    # `find` per field, because records are most of a report's elements.
    row = record.find("row")
    if row is None:
        raise ParseError("missing <row> in <record> %d" % number, source=source, field="record[%d]/row" % number)
    row_fields = _child_texts(row)
    evaluated = row.find("policy_evaluated")
    evaluated_fields = _child_texts(evaluated)
    identifiers = _child_texts(record.find("identifiers"))

    auth_results = record.find("auth_results")
    dkim_results = []
    spf_results = []
    if auth_results is not None:
        for result in auth_results:
            if result.tag == "dkim":
                fields = _child_texts(result)
                dkim_results.append(
                    DkimAuthResult(
                        domain=fields.get("domain"),
                        selector=fields.get("selector"),
                        result=_lower(fields.get("result")),
                        human_result=fields.get("human_result"),
                    )
                )
            elif result.tag == "spf":
                fields = _child_texts(result)
                spf_results.append(
                    SpfAuthResult(
                        domain=fields.get("domain"),
                        scope=_lower(fields.get("scope")),
                        result=_lower(fields.get("result")),
                        human_result=fields.get("human_result"),
                    )
                )

    return AggregateRow(
        source_ip=row_fields.get("source_ip"),
        count=_count(row_fields.get("count"), number, source),
        disposition=_lower(evaluated_fields.get("disposition")),
        dkim=_lower(evaluated_fields.get("dkim")),
        spf=_lower(evaluated_fields.get("spf")),
        reasons=tuple(
            PolicyOverride(type=_value(reason, "type"), comment=_text(reason, "comment"))
            for reason in (evaluated.findall("reason") if evaluated is not None else [])
        ),
        header_from=identifiers.get("header_from"),
        envelope_from=identifiers.get("envelope_from"),
        envelope_to=identifiers.get("envelope_to"),
        dkim_results=tuple(dkim_results),
        spf_results=tuple(spf_results),
    )


def _child_texts(parent: Element | None) -> dict[str, str | None]:
    """Map each child tag of `parent` to the stripped text of its first child of that tag, None when empty.

    Reading `fields.get(name)` gives what `_text(parent, name)` returns.
    """
    fields: dict[str, str | None] = {}
    if parent is None:
        return fields
    for child in parent:
        if child.tag not in fields:
            text = child.text
            fields[child.tag] = (text.strip() or None) if text is not None else None
    return fields


def _lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def _count(text: str | None, number: int, source: str) -> int:
    field = "record[%d]/row/count" % number
    if text is None:
        raise ParseError("missing <count> in <record> %d" % number, source=source, field=field)
    digits = WHITESPACE.sub("", text)
    if not WHOLE_NUMBER.fullmatch(digits):
        raise ParseError(
            "invalid <count> in <record> %d: %r is not a whole number" % (number, text), source=source, field=field
        )
    return int(digits)


def _unix_time(date_range: Element, name: str, source: str) -> int:
    field = "report_metadata/date_range/%s" % name
    text = _text(date_range, name)
    if text is None:
        raise ParseError("missing <%s> in <date_range>" % name, source=source, field=field)
    match = UNIX_TIME.fullmatch(WHITESPACE.sub("", text))
    if match is None:
        raise ParseError(
            "invalid <%s> in <date_range>: %r is not a Unix time in seconds" % (name, text), source=source, field=field
        )
    return int(match.group(1))


def _required_child(parent: Element, name: str, source: str) -> Element:
    child = parent.find(name)
    if child is None:
        raise ParseError("missing <%s> in <%s>" % (name, parent.tag), source=source, field=name)
    return child


def _text(parent: Element | None, name: str) -> str | None:
    """Return the stripped text of the first child `name`, or None when it is absent or empty."""
    if parent is None:
        return None
    child = parent.find(name)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _texts(parent: Element, name: str) -> Iterator[str]:
    for child in parent.findall(name):
        if child.text and child.text.strip():
            yield child.text.strip()


def _value(parent: Element | None, name: str) -> str | None:
    """Return an enumerated value lower-cased, since reporters write `Pass` and `PASS` too."""
    text = _text(parent, name)
    return text.lower() if text is not None else None


PARSER = ParserSpec(
    kind=DMARC_AGGREGATE,
    description="DMARC aggregate report (XML, gzip, zip or email; RFC 7489 and DMARCbis)",
    sniff=sniff,
    parse=parse,
)
