"""Fetching Microsoft SNDS exports with the automated access key.

GET BASE/data.aspx?key=KEY returns the data export and BASE/ipStatus.aspx?key=KEY
the IP status export (SNDS "Automated Data Access"). Both go through the
same parsers as files given to `inboxwatch ingest`. The key is part of the
URL, so URLs are logged without their query.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable

import httpx

from inboxwatch.errors import FeedError, ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.model.reputation import SndsDataRecord, SndsIpStatusRecord
from inboxwatch.parsers import snds as data_parser
from inboxwatch.parsers import snds_status as status_parser
from inboxwatch.parsers.base import ParseContext
from inboxwatch.sources.reputation.http import request_with_retries


# First bytes of an HTML or XML page, after any byte order mark and white space, in lower case.
HTML_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")


@dataclasses.dataclass
class SndsFetch:
    data: list[SndsDataRecord] = dataclasses.field(default_factory=list)
    status: list[SndsIpStatusRecord] = dataclasses.field(default_factory=list)
    rejected: list[Rejected] = dataclasses.field(default_factory=list)


def fetch_snds(
    client: httpx.Client,
    base_url: str,
    key: str,
    *,
    attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> SndsFetch:
    """Fetch and parse both exports; raise `FeedError` when a request fails or an export is unreadable.

    An empty data export is valid (no activity in the period), as is an
    empty IP status export (nothing blocked). An HTML page, a data export
    without one valid row, or an IP status export with an invalid row is a
    failed fetch, so the caller stores nothing and keeps the previous state.
    """
    base = base_url.rstrip("/")
    result = SndsFetch()
    data = request_with_retries(
        client, "GET", base + "/data.aspx", what="SNDS data export", attempts=attempts, secrets=(key,), sleep=sleep, params={"key": key}
    )
    reject_html(data, "SNDS data export")
    if data.content.strip():
        try:
            items = list(data_parser.parse(io.BytesIO(data.content), ParseContext(source="snds:data.aspx")))
        except ParseError as exc:
            raise FeedError("SNDS data export failed: %s; the response is not an SNDS data export, so nothing was stored" % exc) from None
        for item in items:
            (result.rejected if isinstance(item, Rejected) else result.data).append(item)
    status = request_with_retries(
        client, "GET", base + "/ipStatus.aspx", what="SNDS IP status export", attempts=attempts, secrets=(key,), sleep=sleep, params={"key": key}
    )
    reject_html(status, "SNDS IP status export")
    for item in status_parser.parse(io.BytesIO(status.content), ParseContext(source="snds:ipStatus.aspx")):
        if isinstance(item, Rejected):
            # The snapshot replaces the previous one whole, so storing it without
            # an unreadable row could drop a blocked range and its alert.
            raise FeedError(
                "SNDS IP status export failed: %s; the previous IP status snapshot is kept and nothing was stored" % item.error
            )
        result.status.append(item)
    return result


def reject_html(response: httpx.Response, export_name: str) -> None:
    """Raise `FeedError` when a response is an HTML page (a login or error page served with HTTP 200), not SNDS CSV."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    head = response.content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if "html" in content_type or head.startswith(HTML_STARTS):
        raise FeedError(
            "%s failed: the server returned an HTML page (Content-Type %s), not SNDS CSV; check [reputation.snds] base_url and key"
            % (export_name, content_type or "not set")
        )

