"""Google Postmaster Tools exports and API responses, as JSON.

Accepted shapes: a v1 `trafficStats` list response or a single v1
TrafficStats object (reference: developers.google.com/gmail/postmaster,
REST v1 `domains.trafficStats`), a v2 `domainStats:query` response
(REST v2 `domains.domainStats.query`), or a JSON array of any of these.
v1 ratios are fractions. v2 rows carry one metric each under the name the
query gave it: inboxwatch's own queries name them as in `V2_METRICS`, and
the standard metric names (`SPAM_RATE`, ...) are accepted too. Fields this
parser does not read are listed in each record's `unknown_fields` rather than
failing the input. A v2 row with an unreadable value, or an unreadable value
of a v1 day, is yielded as `Rejected` naming the field, and the other rows and
the day's other values are still read.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any, BinaryIO

from inboxwatch.errors import ParseError
from inboxwatch.model.reputation import DeliveryError, IpReputation, PostmasterDayRecord, Reputation
from inboxwatch.parsers.base import ParseContext, ParserSpec, reject
from inboxwatch.parsers.jsoninput import load_json, sniff_json_head

# v1 TrafficStats fields and the record fields they fill.
# `tls_rate` is inboundEncryptionRatio: the share of the domain's mail into
# Gmail that used TLS. outboundEncryptionRatio measures Gmail's mail to the
# domain, which is not the sender's delivery.
V1_RATIOS = {
    "userReportedSpamRatio": "spam_rate",
    "spfSuccessRatio": "spf_success_rate",
    "dkimSuccessRatio": "dkim_success_rate",
    "dmarcSuccessRatio": "dmarc_success_rate",
    "inboundEncryptionRatio": "tls_rate",
}
V1_READ = set(V1_RATIOS) | {
    "name",
    "domainReputation",
    "ipReputations",
    "deliveryErrors",
    # Read but not stored: the record has no field for the spam ratio bounds, outbound TLS or feedback loops.
    "userReportedSpamRatioLowerBound",
    "userReportedSpamRatioUpperBound",
    "outboundEncryptionRatio",
    "spammyFeedbackLoops",
}

# v2 metric names (as inboxwatch's queries define them, and as standard metric names) and the record fields they fill.
# The standard names are those of the v2 reference's StandardMetric enum
# (developers.google.com/workspace/gmail/postmaster/reference/rest/v2/MetricDefinition).
# AUTH_SUCCESS_RATE needs an auth_type filter, so it only arrives under a query's own names.
V2_METRICS = {
    "spam_rate": "spam_rate",
    "spf_success_rate": "spf_success_rate",
    "dkim_success_rate": "dkim_success_rate",
    "dmarc_success_rate": "dmarc_success_rate",
    "tls_rate": "tls_rate",
    "delivery_error_rate": "delivery_error_rate",
    "SPAM_RATE": "spam_rate",
    "TLS_ENCRYPTION_RATE": "tls_rate",
    "DELIVERY_ERROR_RATE": "delivery_error_rate",
}
# StatisticValue members that carry a number; its other members are stringValue and stringList
# (developers.google.com/workspace/gmail/postmaster/reference/rest/v2/QueryDomainStatsResponse).
V2_VALUE_KEYS = ("doubleValue", "floatValue", "intValue")
# Fields of a DomainStat and of a QueryDomainStatsResponse, from the same reference page.
V2_ROW_FIELDS = {"name", "metric", "date", "value"}
V2_RESPONSE_FIELDS = {"domainStats", "nextPageToken", "domain"}

NAME_DOMAIN = re.compile(r"^domains/(?P<domain>[^/]+)")
V1_NAME_DAY = re.compile(r"/trafficStats/(?P<day>\d{8})$")


def sniff(head: bytes, name: str) -> int:
    text = sniff_json_head(head)
    if not text:
        return 0
    if '"trafficStats"' in text or '"domainStats"' in text or '"userReportedSpamRatio"' in text:
        return 90
    return 0


def parse(stream: BinaryIO, context: ParseContext) -> Iterator[Any]:
    """Yield one `PostmasterDayRecord` per domain and day, and `Rejected` for rows that cannot be read."""
    document = load_json(stream, context.source)
    documents = document if isinstance(document, list) else [document]
    v2_days: dict[tuple[str, dt.date], dict[str, Any]] = {}
    found = False
    for item in documents:
        if not isinstance(item, Mapping):
            yield reject("invalid Postmaster document: expected a JSON object, got %s" % type(item).__name__, repr(item), source=context.source)
            continue
        if "domainStats" in item:
            found = True
            response_unknown = {"response.%s" % key for key in item if key not in V2_RESPONSE_FIELDS}
            for row in item.get("domainStats") or []:
                try:
                    collect_v2_row(row, v2_days, item.get("domain"), response_unknown)
                except ParseError as exc:
                    yield reject(exc.message, repr(row), source=context.source, field=exc.field)
            continue
        if "trafficStats" in item:
            stats = item.get("trafficStats") or []
        elif "name" in item:
            stats = [item]
        else:
            continue
        found = True
        for row in stats:
            try:
                record, skipped = parse_v1(row)
            except ParseError as exc:
                yield reject(exc.message, repr(row), source=context.source, field=exc.field)
                continue
            yield record
            for field, value, exc in skipped:
                # One unreadable value costs only itself: the day's other figures are kept.
                message = "%s %s: %s; this value is skipped and the day's other values are kept" % (record.domain, record.day.isoformat(), exc.message)
                yield reject(message, repr({field: value}), source=context.source, field=field)
    if not found:
        raise ParseError("no Postmaster Tools statistics found: expected trafficStats or domainStats", source=context.source)
    for (domain, day), values in sorted(v2_days.items()):
        unknown = tuple(sorted(values.pop("unknown_fields", set())))
        yield PostmasterDayRecord(domain=domain, day=day, api_version="v2", unknown_fields=unknown, **values)


def parse_v1(row: Any) -> tuple[PostmasterDayRecord, list[tuple[str, Any, ParseError]]]:
    """Read one TrafficStats day; return the record and the (field, value, error) of each value skipped as unreadable.

    Only a missing or invalid name, which identifies the day, raises `ParseError`.
    """
    if not isinstance(row, Mapping):
        raise ParseError("invalid TrafficStats: expected a JSON object")
    name = str(row.get("name", ""))
    domain_match = NAME_DOMAIN.match(name)
    day_match = V1_NAME_DAY.search(name)
    if domain_match is None or day_match is None:
        raise ParseError("invalid TrafficStats name %r: expected domains/DOMAIN/trafficStats/YYYYMMDD" % name, field="name")
    try:
        day = dt.datetime.strptime(day_match.group("day"), "%Y%m%d").date()
    except ValueError:
        raise ParseError("invalid TrafficStats name %r: the date is not a calendar day" % name, field="name") from None
    skipped: list[tuple[str, Any, ParseError]] = []
    values: dict[str, Any] = {}
    for key, field in V1_RATIOS.items():
        try:
            values[field] = ratio(row, key)
        except ParseError as exc:
            skipped.append((key, row[key], exc))
            values[field] = None
    reputation = row.get("domainReputation")
    values["domain_reputation"] = reputation_of(reputation)
    ip_reputations = []
    for entry in row.get("ipReputations") or []:
        category = reputation_of(entry.get("reputation")) if isinstance(entry, Mapping) else None
        if category is None:
            continue
        count = entry.get("ipCount", 0)
        ip_reputations.append(IpReputation(category, int(count) if str(count).isdigit() else 0, tuple(entry.get("sampleIps") or ())))
    errors = []
    for entry in row.get("deliveryErrors") or []:
        if not isinstance(entry, Mapping):
            continue
        try:
            value = ratio(entry, "errorRatio")
        except ParseError as exc:
            skipped.append(("deliveryErrors.errorRatio", entry.get("errorRatio"), exc))
            continue
        if value is not None:
            errors.append(DeliveryError(str(entry.get("errorClass", "")), str(entry.get("errorType", "")), value))
    # A skipped error ratio would make the sum too low, so the total is left out.
    complete = not any(field == "deliveryErrors.errorRatio" for field, _, _ in skipped)
    unknown = tuple(sorted(key for key in row if key not in V1_READ))
    record = PostmasterDayRecord(
        domain=domain_match.group("domain").lower(),
        day=day,
        api_version="v1",
        ip_reputations=tuple(ip_reputations),
        delivery_errors=tuple(errors),
        delivery_error_rate=sum(error.ratio for error in errors) if errors and complete else None,
        unknown_fields=unknown,
        **values,
    )
    return record, skipped


def collect_v2_row(
    row: Any, days: dict[tuple[str, dt.date], dict[str, Any]], default_domain: Any, response_unknown: Collection[str] = ()
) -> None:
    """Add one v2 DomainStat row (one metric of one day) to `days`.

    Unknown fields of the row, of its value and of the response, and unknown
    metrics, are added to the day's `unknown_fields` and no value is taken
    from them.
    """
    if not isinstance(row, Mapping):
        raise ParseError("invalid DomainStat: expected a JSON object")
    name_match = NAME_DOMAIN.match(str(row.get("name", "")))
    domain = name_match.group("domain") if name_match else default_domain
    if not isinstance(domain, str) or not domain:
        raise ParseError("DomainStat without a domain: expected name domains/DOMAIN/... or a top-level domain", field="name")
    day = v2_date(row.get("date"))
    metric = str(row.get("metric", ""))
    entry = days.setdefault((domain.lower(), day), {"unknown_fields": set()})
    entry["unknown_fields"].update(response_unknown)
    entry["unknown_fields"].update("domainStats.%s" % key for key in row if key not in V2_ROW_FIELDS)
    field = V2_METRICS.get(metric)
    if field is None:
        entry["unknown_fields"].add("metric:%s" % metric)
        return
    value = row.get("value")
    if isinstance(value, Mapping) and not any(key in value for key in V2_VALUE_KEYS):
        # A value type this version does not know (stringValue, or a member Google adds later) is no ratio to store.
        entry["unknown_fields"].update("value.%s" % key for key in value)
        return
    entry[field] = v2_value(value, metric)


def v2_date(value: Any) -> dt.date:
    if not isinstance(value, Mapping):
        raise ParseError("invalid DomainStat date %r: expected {year, month, day}" % (value,), field="date")
    try:
        return dt.date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        raise ParseError("invalid DomainStat date %r: expected {year, month, day}" % (value,), field="date") from None


def v2_value(value: Any, metric: str) -> float:
    # Typed wrappers ({"doubleValue": ...}) as the v2 reference shows them, or plain numbers from hand-made exports.
    # NOTE: v2 values are read as fractions like v1 ratios, because the v2 reference does not give the unit.
    # This is untested against live v2 responses.
    if isinstance(value, Mapping):
        value = next(value[key] for key in V2_VALUE_KEYS if key in value)
    return checked_ratio(value, metric)


def ratio(row: Mapping[str, Any], key: str) -> float | None:
    if key not in row or row[key] is None:
        return None
    return checked_ratio(row[key], key)


def checked_ratio(value: Any, field: str) -> float:
    """Return `value` as a fraction in [0, 1]; NaN, text and out-of-range values raise `ParseError`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParseError("invalid ratio %r: expected a number from 0 to 1" % (value,), field=field) from None
    if math.isnan(number) or not 0 <= number <= 1:
        raise ParseError("invalid ratio %r: expected a number from 0 to 1" % (value,), field=field)
    return number


def reputation_of(value: Any) -> Reputation | None:
    """Return the reputation category, or None for a missing or unspecified one (REPUTATION_CATEGORY_UNSPECIFIED)."""
    try:
        return Reputation(str(value).upper())
    except ValueError:
        return None


PARSER = ParserSpec(kind="postmaster", description="Google Postmaster Tools statistics (JSON)", sniff=sniff, parse=parse)
