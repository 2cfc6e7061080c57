"""Fetching Gmail statistics from the Postmaster Tools API.

v2 `domains.domainStats.query` (POST /v2/domains/DOMAIN/domainStats:query)
gives spam rate, authentication success rates, TLS and delivery errors per
day; v2 `domains.getComplianceStatus` gives the bulk-sender requirement
states; v1 `domains.trafficStats.list` (GET /v1/domains/DOMAIN/trafficStats)
adds domain and IP reputation for accounts that still have it. Responses go
through the `postmaster` parser, so a fetched day and an ingested export are
read the same way.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import httpx

from inboxwatch.errors import FeedError, ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.model.reputation import ComplianceStatus, PostmasterDayRecord
from inboxwatch.parsers import postmaster as postmaster_parser
from inboxwatch.parsers.base import ParseContext
from inboxwatch.sources.reputation.http import request_with_retries
from inboxwatch.sources.reputation.oauth import TokenSource

log = logging.getLogger(__name__)

# The v2 metrics inboxwatch queries, by the names the parser reads. The
# standard metric names and filters follow the StandardMetric enum of the v2
# reference (developers.google.com/workspace/gmail/postmaster/reference/rest/v2/MetricDefinition):
# AUTH_SUCCESS_RATE requires an auth_type filter and TLS_ENCRYPTION_RATE a
# traffic_direction filter, where "inbound" is mail into Gmail, the sender's own.
V2_QUERIES = (
    ("spam_rate", "SPAM_RATE", None),
    ("spf_success_rate", "AUTH_SUCCESS_RATE", 'auth_type = "spf"'),
    ("dkim_success_rate", "AUTH_SUCCESS_RATE", 'auth_type = "dkim"'),
    ("dmarc_success_rate", "AUTH_SUCCESS_RATE", 'auth_type = "dmarc"'),
    ("tls_rate", "TLS_ENCRYPTION_RATE", 'traffic_direction = "inbound"'),
    ("delivery_error_rate", "DELIVERY_ERROR_RATE", None),
)

# DomainStats per response page: the v2 reference's maximum, because its default is 10.
V2_PAGE_SIZE = 200

# Pages read per request at most; Postmaster days per domain are few.
MAX_PAGES = 20


# Names of the requests made per domain, as `StepFailure.step` gives them.
DOMAIN_STATS = "domain stats"
COMPLIANCE_STATUS = "compliance status"
TRAFFIC_STATS = "traffic stats"


@dataclasses.dataclass(frozen=True)
class StepFailure:
    """One request of one domain that failed, with the error text."""

    domain: str
    step: str
    error: str


@dataclasses.dataclass
class PostmasterFetch:
    """The records of one fetch, and in `failures` the requests that failed."""

    days: list[PostmasterDayRecord] = dataclasses.field(default_factory=list)
    compliance: list[ComplianceStatus] = dataclasses.field(default_factory=list)
    rejected: list[Rejected] = dataclasses.field(default_factory=list)
    failures: list[StepFailure] = dataclasses.field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [failure.error for failure in self.failures]

    def failures_of(self, step: str) -> list[StepFailure]:
        return [failure for failure in self.failures if failure.step == step]


class PostmasterClient:
    """Authenticated requests to one Postmaster Tools base URL."""

    def __init__(
        self,
        client: httpx.Client,
        base_url: str,
        tokens: TokenSource,
        *,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.attempts = attempts
        self.sleep = sleep

    def request(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """Send an authenticated request and return its JSON; a 401 gets one new token and one more try."""
        for renewed in (False, True):
            token = self.tokens.token(self.client)
            try:
                response = request_with_retries(
                    self.client,
                    method,
                    self.base_url + path,
                    what=what,
                    attempts=self.attempts,
                    secrets=(token,),
                    sleep=self.sleep,
                    headers={"Authorization": "Bearer " + token},
                    **kwargs,
                )
            except FeedError as exc:
                if exc.status == 401 and not renewed:
                    log.info("%s: access token rejected (HTTP 401), fetching a new one", what)
                    self.tokens.invalidate()
                    continue
                raise
            try:
                return response.json()
            except ValueError:
                raise FeedError("%s failed: response is not JSON" % what) from None
        raise AssertionError("unreachable")

    def pages(self, method: str, path: str, what: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        token: str | None = None
        for _ in range(MAX_PAGES):
            if method == "POST":
                payload = dict(body or {}, **({"pageToken": token} if token else {}))
                page = self.request(method, path, what, json=payload)
            else:
                query = dict(params or {}, **({"pageToken": token} if token else {}))
                page = self.request(method, path, what, params=query)
            if not isinstance(page, dict):
                raise FeedError("%s failed: expected a JSON object" % what)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
        log.warning("%s: stopped after %d pages", what, MAX_PAGES)


def fetch_postmaster(api: PostmasterClient, domains: tuple[str, ...], first_day: date, last_day: date, now: datetime, *, traffic_stats_v1: bool) -> PostmasterFetch:
    """Fetch v2 domain stats and compliance, and v1 traffic stats when enabled, for each domain; collect failures per request."""
    result = PostmasterFetch()
    for domain in domains:
        steps: list[tuple[str, Callable[[], None]]] = [
            (DOMAIN_STATS, lambda: read_pages(result, domain, api.pages("POST", "/v2/domains/%s/domainStats:query" % domain, "Postmaster domain stats for %s" % domain, body=v2_query(first_day, last_day)))),
            (COMPLIANCE_STATUS, lambda: result.compliance.append(compliance(api, domain, now))),
        ]
        if traffic_stats_v1:
            steps.append((TRAFFIC_STATS, lambda: read_pages(result, domain, api.pages("GET", "/v1/domains/%s/trafficStats" % domain, "Postmaster traffic stats for %s" % domain, params=v1_params(first_day, last_day)))))
        for name, step in steps:
            try:
                step()
            except (FeedError, ParseError) as exc:
                error = step_error(name, domain, exc)
                log.warning("%s", error)
                result.failures.append(StepFailure(domain, name, error))
    return result


def step_error(step: str, domain: str, exc: Exception) -> str:
    """Return the error text of a failed request, naming the request and domain once.

    Errors of the requests themselves start with "Postmaster STEP for DOMAIN
    failed", while token and parse errors do not name the request.
    """
    prefix = "Postmaster %s for %s" % (step, domain)
    text = str(exc)
    return text if text.startswith(prefix) else "%s failed: %s" % (prefix, text)


def read_pages(result: PostmasterFetch, domain: str, pages: Iterator[dict[str, Any]]) -> None:
    for page in pages:
        if "domainStats" not in page and "trafficStats" not in page:
            continue
        document = json.dumps({"domain": domain, **page}).encode()
        for item in postmaster_parser.parse(io.BytesIO(document), ParseContext(source="postmaster:%s" % domain)):
            if isinstance(item, Rejected):
                result.rejected.append(item)
            else:
                result.days.append(item)


def v2_query(first_day: date, last_day: date) -> dict[str, Any]:
    def as_date(day: date) -> dict[str, int]:
        return {"year": day.year, "month": day.month, "day": day.day}

    definitions = []
    for name, metric, filter_text in V2_QUERIES:
        definition: dict[str, Any] = {"name": name, "baseMetric": {"standardMetric": metric}}
        if filter_text:
            definition["filter"] = filter_text
        definitions.append(definition)
    return {
        "metricDefinitions": definitions,
        "timeQuery": {"dateRanges": {"dateRanges": [{"start": as_date(first_day), "end": as_date(last_day)}]}},
        "aggregationGranularity": "DAILY",
        "pageSize": V2_PAGE_SIZE,
    }


def v1_params(first_day: date, last_day: date) -> dict[str, Any]:
    return {
        "startDate.year": first_day.year,
        "startDate.month": first_day.month,
        "startDate.day": first_day.day,
        "endDate.year": last_day.year,
        "endDate.month": last_day.month,
        "endDate.day": last_day.day,
    }


def compliance(api: PostmasterClient, domain: str, now: datetime) -> ComplianceStatus:
    """Read the compliance status: each requirement's state as Google wrote it ("COMPLIANT", "NEEDS_WORK", ...)."""
    payload = api.request("GET", "/v2/domains/%s/complianceStatus" % domain, "Postmaster compliance status for %s" % domain)
    data = payload.get("complianceData") if isinstance(payload, dict) else None
    return ComplianceStatus(domain=domain, checked_at=now, requirements=compliance_requirements(data if isinstance(data, dict) else {}))


def compliance_requirements(data: dict[str, Any]) -> dict[str, str]:
    """Map each requirement of a DomainComplianceData to its status.

    The shape follows the v2 reference of domains.getComplianceStatus
    (developers.google.com/workspace/gmail/postmaster/reference/rest/v2/domains/getComplianceStatus):
    `rowData` is a list of {requirement, status: {status}}, and the two
    unsubscribe verdicts are {status: {status}, reason}. A state that is
    missing is stored as "unknown", never guessed.
    """
    requirements: dict[str, str] = {}
    for row in data.get("rowData") or []:
        if isinstance(row, dict) and row.get("requirement"):
            requirements[str(row["requirement"])] = status_text(row.get("status"))
    for key, requirement in (("oneClickUnsubscribeVerdict", "ONE_CLICK_UNSUBSCRIBE_VERDICT"), ("honorUnsubscribeVerdict", "HONOR_UNSUBSCRIBE_VERDICT")):
        verdict = data.get(key)
        if isinstance(verdict, dict):
            text = status_text(verdict.get("status"))
            reason = verdict.get("reason")
            requirements[requirement] = "%s (%s)" % (text, reason) if reason else text
    return requirements


def status_text(status: Any) -> str:
    if isinstance(status, dict):
        status = status.get("status")
    return str(status) if isinstance(status, str) and status else "unknown"
