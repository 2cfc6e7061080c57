"""Microsoft SNDS IP status export ("ipStatus.aspx" through the automated access key).

CSV without a header, one row per blocked range of the sender's IPs: first
IP, last IP, "Yes" or "No" for blocked, and Microsoft's reason. A row with a
missing column or an invalid address is yielded as `Rejected`. An empty
export is valid: none of the sender's IPs are blocked.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.reputation import SndsIpStatusRecord
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject, text_lines
from inboxwatch.parsers.snds import first_row, is_ip

COLUMNS = ("first_ip", "last_ip", "blocked", "reason")


def sniff(head: bytes, name: str) -> int:
    fields = first_row(head)
    if len(fields) != len(COLUMNS) or not is_ip(fields[0]) or not is_ip(fields[1]):
        return 0
    return 95 if fields[2].strip().lower() in ("yes", "no") else 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield an `SndsIpStatusRecord` per row, or `Rejected` for a row that cannot be read."""
    for number, line in text_lines(stream):
        if not line.strip():
            continue
        try:
            fields = [field.strip() for field in next(csv.reader([line.lstrip("\ufeff")]))]
            yield parse_row(fields)
        except ParseError as exc:
            yield reject(exc.message, line, source=context.source, line=number, field=exc.field)
        except csv.Error as exc:
            yield reject("invalid CSV: %s" % exc, line, source=context.source, line=number)


def parse_row(fields: list[str]) -> SndsIpStatusRecord:
    if len(fields) < len(COLUMNS):
        raise ParseError("missing column %s: expected %d columns, found %d" % (COLUMNS[len(fields)], len(COLUMNS), len(fields)))
    first_ip, last_ip, blocked, reason = fields[0], fields[1], fields[2], ",".join(fields[3:])
    for name, value in (("first_ip", first_ip), ("last_ip", last_ip)):
        if not is_ip(value):
            raise ParseError("invalid IP address %r" % value, field=name)
    if blocked.lower() not in ("yes", "no"):
        raise ParseError("invalid blocked flag %r: expected Yes or No" % blocked, field="blocked")
    return SndsIpStatusRecord(first_ip, last_ip, blocked.lower() == "yes", reason)


PARSER = ParserSpec(kind="snds-ipstatus", description="Microsoft SNDS IP status export (CSV)", sniff=sniff, parse=parse)
