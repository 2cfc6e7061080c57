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

from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.model.reputation import SndsDataRecord, SndsIpStatusRecord
from inboxwatch.parsers import snds as data_parser
from inboxwatch.parsers import snds_status as status_parser
from inboxwatch.parsers.base import ParseContext
from inboxwatch.sources.reputation.http import request_with_retries


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
    """Fetch and parse both exports; raises `FeedError` when a request fails.

    An empty data export is valid (no activity in the period), as is an
    empty IP status export (nothing blocked).
    """
    base = base_url.rstrip("/")
    result = SndsFetch()
    data = request_with_retries(
        client, "GET", base + "/data.aspx", what="SNDS data export", attempts=attempts, secrets=(key,), sleep=sleep, params={"key": key}
    )
    if data.content.strip():
        try:
            items = list(data_parser.parse(io.BytesIO(data.content), ParseContext(source="snds:data.aspx")))
        except ParseError as exc:
            result.rejected.append(Rejected(error=exc, raw=data.text[:400]))
            items = []
        for item in items:
            (result.rejected if isinstance(item, Rejected) else result.data).append(item)
    status = request_with_retries(
        client, "GET", base + "/ipStatus.aspx", what="SNDS IP status export", attempts=attempts, secrets=(key,), sleep=sleep, params={"key": key}
    )
    for item in status_parser.parse(io.BytesIO(status.content), ParseContext(source="snds:ipStatus.aspx")):
        (result.rejected if isinstance(item, Rejected) else result.status).append(item)
    return result
