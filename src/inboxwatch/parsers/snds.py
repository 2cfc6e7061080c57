"""Microsoft SNDS data export ("data.aspx" through the automated access key).

CSV without a header, one row per IP and activity period, 14 columns: IP
address, activity start, activity end, RCPT commands, DATA commands, message
recipients, filter result, complaint rate, trap message start, trap message
end, trap hits, sample HELO, sample MAIL FROM, comments.

Times are US-style ("9/29/2020 9:00 PM") and carry no zone. inboxwatch
reads them in the parse context's time zone (UTC unless configured).
A row with a missing column or an unreadable value is yielded as
`Rejected` and the other rows are still read.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.reputation import SndsDataRecord, SndsFilterResult
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject, text_lines

COLUMNS = (
    "ip",
    "activity_start",
    "activity_end",
    "rcpt_commands",
    "data_commands",
    "recipients",
    "filter_result",
    "complaint_rate",
    "trap_start",
    "trap_end",
    "trap_hits",
    "sample_helo",
    "sample_mail_from",
    "comments",
)

# The first 11 columns carry the figures; SNDS leaves the sample and comment columns out of some rows.
REQUIRED_COLUMNS = 11

US_TIME = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2} [AP]M$")
COMPLAINT_RATE = re.compile(r"^(?P<bound><\s*)?(?P<number>\d+(?:\.\d+)?)\s*%$")


# Non-blank lines of the head that detection examines. A short or damaged
# first row must not hide an export whose next rows are complete.
SNIFF_ROWS = 5


def sniff(head: bytes, name: str) -> int:
    """Score the head's first rows: 95 when most start like SNDS data rows and one is complete with a filter result.

    A data row starts with an IP address and a US-style time, which the IP
    status export (two IP addresses) never does. A short or damaged row among
    complete ones still lets the head be detected, and the parser then
    rejects that row alone.
    """
    examined = head_rows(head, SNIFF_ROWS)
    rows = [fields for fields in examined if starts_like_data(fields)]
    if not rows or 2 * len(rows) < len(examined):
        return 0
    complete = [fields for fields in rows if len(fields) >= REQUIRED_COLUMNS]
    if any(fields[6].strip().upper() in SndsFilterResult.__members__ for fields in complete):
        return 95
    return 60 if complete or any(len(fields) > 2 and US_TIME.match(fields[2].strip()) for fields in rows) else 0


def starts_like_data(fields: list[str]) -> bool:
    return len(fields) >= 2 and is_ip(fields[0]) and US_TIME.match(fields[1].strip()) is not None


def first_row(head: bytes) -> list[str]:
    """Return the CSV fields of the head's first line, or [] when it has no comma or is invalid CSV."""
    rows = head_rows(head, 1)
    return rows[0] if rows else []


def head_rows(head: bytes, limit: int) -> list[list[str]]:
    """Return the CSV fields of the head's first `limit` non-blank lines, stopping at the first line without a comma or with invalid CSV.

    The head's last line is left out when others precede it and the head
    does not end with a line break, because it may be cut off. Blank lines
    are skipped, up to 4 * `limit` lines in all.
    """
    # Splitting off a few lines, not the whole head, keeps detection cheap; the
    # remainder after the last split is dropped like a cut-off line.
    lines = head.split(b"\n", 4 * limit)
    if len(lines) > 1 and lines[-1]:
        lines = lines[:-1]
    rows = []
    for line_bytes in lines:
        if not line_bytes.strip():
            continue
        if len(rows) == limit:
            break
        if b"," not in line_bytes:
            # Both SNDS exports have at least four columns, so a line without a
            # comma is neither, and most inputs are ruled out before decoding.
            break
        line = line_bytes.decode("utf-8", errors="replace").strip("\r\n\ufeff")
        try:
            rows.append(next(csv.reader([line]), []))
        except csv.Error:
            # A lone carriage return inside the line, common in gzip and zip data, is invalid CSV.
            break
    return rows


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield an `SndsDataRecord` per row, or `Rejected` for a row that cannot be read; raise `ParseError` when no row is readable."""
    yielded = 0
    for number, line in text_lines(stream):
        if not line.strip():
            continue
        try:
            fields = next(csv.reader([line.lstrip("\ufeff")]))
            yield parse_row(fields, context)
            yielded += 1
        except (ParseError, csv.Error) as exc:
            message = exc.message if isinstance(exc, ParseError) else "invalid CSV: %s" % exc
            field = exc.field if isinstance(exc, ParseError) else None
            yield reject(message, line, source=context.source, line=number, field=field)
    if yielded == 0:
        raise ParseError("no SNDS data row found: expected CSV rows of 14 columns starting with an IP address", source=context.source)


def parse_row(fields: list[str], context: ParseContext) -> SndsDataRecord:
    if len(fields) < REQUIRED_COLUMNS:
        raise ParseError(
            "missing column: expected %d columns, found %d (the first %d are required)" % (len(COLUMNS), len(fields), REQUIRED_COLUMNS),
            field=COLUMNS[len(fields)],
        )
    try:
        return parse_values(fields, context)
    except ParseError as exc:
        if len(fields) >= len(COLUMNS):
            raise
        # A short row whose values do not fit their columns has lost a column in
        # the middle, which shifts every later value into the wrong column.
        raise ParseError(
            "missing column: expected %d columns, found %d, so the values after the missing one are shifted (%s)"
            % (len(COLUMNS), len(fields), exc.message)
        ) from None


def parse_values(fields: list[str], context: ParseContext) -> SndsDataRecord:
    fields = [field.strip() for field in fields] + [""] * (len(COLUMNS) - len(fields))
    values = dict(zip(COLUMNS, fields))
    if not is_ip(values["ip"]):
        raise ParseError("invalid IP address %r" % values["ip"], field="ip")
    try:
        filter_result = SndsFilterResult(values["filter_result"].upper())
    except ValueError:
        raise ParseError("invalid filter result %r: expected GREEN, YELLOW or RED" % values["filter_result"], field="filter_result") from None
    exact, bound = complaint_rate(values["complaint_rate"])
    trap_hits = count(values, "trap_hits", allow_empty=True)
    return SndsDataRecord(
        ip=values["ip"],
        activity_start=us_time(values, "activity_start", context),
        activity_end=us_time(values, "activity_end", context),
        rcpt_commands=count(values, "rcpt_commands"),
        data_commands=count(values, "data_commands"),
        recipients=count(values, "recipients"),
        filter_result=filter_result,
        complaint_rate_text=values["complaint_rate"],
        complaint_rate=exact,
        complaint_rate_below=bound,
        trap_start=us_time(values, "trap_start", context) if values["trap_start"] else None,
        trap_end=us_time(values, "trap_end", context) if values["trap_end"] else None,
        trap_hits=trap_hits,
        sample_helo=values["sample_helo"],
        sample_mail_from=values["sample_mail_from"],
        comments=values["comments"],
    )


def us_time(values: dict[str, str], name: str, context: ParseContext) -> datetime:
    text = values[name]
    try:
        parsed = datetime.strptime(text, "%m/%d/%Y %I:%M %p")
    except ValueError:
        raise ParseError("invalid time %r: expected M/D/YYYY h:mm AM|PM" % text, field=name) from None
    return parsed.replace(tzinfo=context.timezone)


def count(values: dict[str, str], name: str, allow_empty: bool = False) -> int:
    text = values[name]
    if not text and allow_empty:
        return 0
    if not text.isdigit():
        raise ParseError("invalid count %r: expected a whole number" % text, field=name)
    return int(text)


def complaint_rate(text: str) -> tuple[float | None, float | None]:
    """Read "2.3%" as (0.023, None) and "< 0.1%" as (None, 0.001); raise `ParseError` otherwise."""
    match = COMPLAINT_RATE.match(text)
    if match is None:
        raise ParseError("invalid complaint rate %r: expected a percentage such as 0.3%% or < 0.1%%" % text, field="complaint_rate")
    value = float(match.group("number")) / 100
    return (None, value) if match.group("bound") else (value, None)


PARSER = ParserSpec(kind="snds-data", description="Microsoft SNDS data export (CSV)", sniff=sniff, parse=parse)
