"""SNDS and Postmaster Tools parsers and their ingest, on small hand-written inputs."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.errors import ParseError
from inboxwatch.model.records import Rejected
from inboxwatch.model.reputation import PostmasterDayRecord, Reputation, SndsDataRecord, SndsFilterResult, SndsIpStatusRecord
from inboxwatch.parsers import postmaster, snds, snds_status
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.registry import detect
from inboxwatch.service.ingest import IngestOptions, ingest_paths
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import postmaster_stats, snds_data, snds_ip_status

SNDS_DATA = (
    "203.0.113.10,3/1/2026 8:00 AM,3/2/2026 8:00 AM,5200,5100,5150,GREEN,< 0.1%,,,0,,,\n"
    "203.0.113.11,3/1/2026 8:00 AM,3/2/2026 8:00 AM,4100,4000,4050,YELLOW,0.4%,3/1/2026 9:15 PM,3/1/2026 11:40 PM,3,mta2.shop.example,bounce@shop.example,\n"
)
SNDS_MISSING_COLUMN = "203.0.113.12,3/1/2026 8:00 AM,3/2/2026 8:00 AM,5200,5100,5150,RED,< 0.1%,,\n"
SNDS_STATUS = "203.0.113.10,203.0.113.11,Yes,Blocked due to user complaints or other evidence of spamming\n"

V1_RESPONSE = {
    "trafficStats": [
        {
            "name": "domains/shop.example/trafficStats/20260301",
            "userReportedSpamRatio": 0.0021,
            "ipReputations": [{"reputation": "MEDIUM", "ipCount": "2", "sampleIps": ["203.0.113.10"]}],
            "domainReputation": "MEDIUM",
            "spfSuccessRatio": 1.0,
            "dkimSuccessRatio": 0.99,
            "dmarcSuccessRatio": 0.98,
            "outboundEncryptionRatio": 1.0,
            "deliveryErrors": [{"errorClass": "TEMPORARY_ERROR", "errorType": "RATE_LIMIT_EXCEEDED", "errorRatio": 0.03}],
            "newFieldFromGoogle": 7,
        }
    ]
}
V2_RESPONSE = {
    "domainStats": [
        {"name": "domains/shop.example/domainStats/a", "metric": "spam_rate", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"doubleValue": 0.0035}},
        {"name": "domains/shop.example/domainStats/b", "metric": "dkim_success_rate", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"doubleValue": 0.97}},
        {"name": "domains/shop.example/domainStats/c", "metric": "mystery_metric", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"doubleValue": 5}},
        {"name": "domains/shop.example/domainStats/d", "metric": "tls_rate", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"doubleValue": "NaN"}},
    ]
}


def parse_all(module, text: str) -> list:
    return list(module.parse(io.BytesIO(text.encode()), ParseContext(source="test")))


def test_snds_data_rows_parsed():
    first, second = parse_all(snds, SNDS_DATA)
    assert isinstance(first, SndsDataRecord)
    assert first.filter_result is SndsFilterResult.GREEN
    assert first.complaint_rate is None
    assert first.complaint_rate_below == pytest.approx(0.001)
    assert first.activity_start == datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    assert second.complaint_rate == pytest.approx(0.004)
    assert second.trap_hits == 3
    assert second.trap_start == datetime(2026, 3, 1, 21, 15, tzinfo=timezone.utc)


def test_snds_data_missing_column_rejected():
    items = parse_all(snds, SNDS_DATA + SNDS_MISSING_COLUMN)
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert len(items) == 3
    assert len(rejected) == 1
    assert "expected 14 columns, found 10" in str(rejected[0].error)
    assert rejected[0].error.line == 3


def test_snds_data_middle_column_missing():
    # The recipients column is left out, so the filter result sits where the recipients count belongs.
    row = "203.0.113.13,3/1/2026 8:00 AM,3/2/2026 8:00 AM,5200,5100,GREEN,< 0.1%,,,0,mta.shop.example,bounce@shop.example,\n"
    items = parse_all(snds, SNDS_DATA + row)
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert len(rejected) == 1
    assert "missing column: expected 14 columns, found 13" in rejected[0].error.message
    assert rejected[0].error.line == 3
    assert rejected[0].error.field is None


def test_snds_status_missing_column_named():
    items = parse_all(snds_status, "203.0.113.10,203.0.113.11,Yes\n")
    assert len(items) == 1
    assert isinstance(items[0], Rejected)
    assert items[0].error.message == "missing column reason: expected 4 columns, found 3"
    assert items[0].error.line == 1


def test_snds_data_bad_filter_result_rejected():
    items = parse_all(snds, SNDS_DATA.replace("YELLOW", "PURPLE"))
    assert "invalid filter result 'PURPLE'" in str(items[1].error)


def test_snds_data_only_garbage_raises():
    with pytest.raises(ParseError, match="no SNDS data row found"):
        parse_all(snds, "hello,world\n")


def test_snds_status_rows_parsed():
    (record,) = parse_all(snds_status, SNDS_STATUS)
    assert record == SndsIpStatusRecord("203.0.113.10", "203.0.113.11", True, "Blocked due to user complaints or other evidence of spamming")


def test_snds_detection_tells_exports_apart():
    assert detect(SNDS_DATA.encode()).kind == "snds-data"
    assert detect(SNDS_STATUS.encode()).kind == "snds-ipstatus"
    assert detect(json.dumps(V1_RESPONSE).encode()).kind == "postmaster"


def test_postmaster_v1_traffic_stats_parsed():
    (record,) = parse_all(postmaster, json.dumps(V1_RESPONSE))
    assert record.domain == "shop.example"
    assert record.day == date(2026, 3, 1)
    assert record.spam_rate == pytest.approx(0.0021)
    assert record.domain_reputation is Reputation.MEDIUM
    assert record.ip_reputations[0].ip_count == 2
    assert record.delivery_error_rate == pytest.approx(0.03)
    assert record.unknown_fields == ("newFieldFromGoogle",)


def test_postmaster_v2_unknown_metric_and_nan():
    items = parse_all(postmaster, json.dumps(V2_RESPONSE))
    rejected = [item for item in items if isinstance(item, Rejected)]
    (record,) = [item for item in items if isinstance(item, PostmasterDayRecord)]
    assert len(rejected) == 1
    assert "invalid ratio 'NaN'" in str(rejected[0].error)
    assert record.spam_rate == pytest.approx(0.0035)
    assert record.dkim_success_rate == pytest.approx(0.97)
    assert record.tls_rate is None
    assert record.unknown_fields == ("metric:mystery_metric",)


def test_postmaster_unrelated_json_raises():
    with pytest.raises(ParseError, match="no Postmaster Tools statistics found"):
        parse_all(postmaster, '{"hello": 1}')


def test_ingest_reputation_files_stored_once(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    (tmp_path / "data.csv").write_text(SNDS_DATA + SNDS_MISSING_COLUMN)
    (tmp_path / "status.csv").write_text(SNDS_STATUS)
    (tmp_path / "v1.json").write_text(json.dumps(V1_RESPONSE))
    (tmp_path / "v2.json").write_text(json.dumps(V2_RESPONSE))
    paths = [str(tmp_path / name) for name in ("data.csv", "status.csv", "v1.json", "v2.json")]
    first = ingest_paths(engine, paths, options=IngestOptions())
    ingest_paths(engine, [str(tmp_path / "data.csv")], options=IngestOptions())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(snds_data)).scalar() == 2
        assert conn.execute(sa.select(sa.func.count()).select_from(snds_ip_status)).scalar() == 1
        days = conn.execute(sa.select(postmaster_stats).order_by(postmaster_stats.c.day)).mappings().all()
    engine.dispose()
    assert [summary.kind for summary in first.inputs] == ["snds-data", "snds-ipstatus", "postmaster", "postmaster"]
    assert first.rejected == 2
    assert [row["day"] for row in days] == [date(2026, 3, 1), date(2026, 3, 2)]
    assert days[1]["spam_rate"] == pytest.approx(0.0035)


def test_snds_sniff_lone_carriage_return():
    # csv rejects a carriage return inside an unquoted field; gzip and zip heads often hold one.
    head = b"203.0.113.10,3/1/2026 8:00 AM\r,3/2/2026 8:00 AM\n"
    assert snds.sniff(head, "data.csv.gz") == 0
    assert snds_status.sniff(head, "status.csv") == 0


# A first row whose trap hits and later columns are missing, then complete rows.
SNDS_SHORT_FIRST_ROW = (
    "203.0.113.20,3/1/2026 8:00 AM,3/2/2026 8:00 AM,5200,5100,5150,GREEN,< 0.1%,3/1/2026 9:00 PM,3/1/2026 10:00 PM\r\n" + SNDS_DATA
)


def test_snds_short_first_row_detected():
    assert detect(SNDS_SHORT_FIRST_ROW.encode()).kind == "snds-data"
    assert snds.sniff(SNDS_SHORT_FIRST_ROW.encode(), "data.csv") == 95


def test_snds_short_first_row_names_column():
    first, *rest = parse_all(snds, SNDS_SHORT_FIRST_ROW)
    assert isinstance(first, Rejected)
    assert first.error.line == 1
    assert first.error.field == "trap_hits"
    assert "missing column: expected 14 columns, found 10" in first.error.message
    assert [record.ip for record in rest] == ["203.0.113.10", "203.0.113.11"]


def test_snds_sniff_rejects_other_csv():
    assert snds.sniff(b"ip,first seen,last seen\n203.0.113.10,2026-03-01,2026-03-02\n", "hosts.csv") == 0
    assert snds.sniff(SNDS_STATUS.encode(), "status.csv") == 0


def test_ingest_short_first_row_without_kind(tmp_path):
    path = tmp_path / "snds.csv"
    path.write_text(SNDS_SHORT_FIRST_ROW)
    store = "sqlite:///%s" % (tmp_path / "store.db")
    result = CliRunner().invoke(cli, ["ingest", "--store", store, str(path)])
    engine = open_engine(store)
    with engine.connect() as conn:
        ips = conn.execute(sa.select(snds_data.c.ip).order_by(snds_data.c.ip)).scalars().all()
    engine.dispose()
    assert result.exit_code == 0, result.output
    assert "(snds-data)" in result.output
    assert "line 1, field trap_hits: missing column" in result.output
    assert ips == ["203.0.113.10", "203.0.113.11"]


def test_parse_short_first_row_without_kind(tmp_path):
    path = tmp_path / "snds.csv"
    path.write_text(SNDS_SHORT_FIRST_ROW)
    result = CliRunner().invoke(cli, ["parse", str(path)])
    assert result.exit_code == 0, result.output
    assert "snds.csv: snds-data, 2 records" in result.output
    assert "line 1, field trap_hits: missing column" in result.output


def test_postmaster_v1_bad_field_keeps_day():
    day = dict(V1_RESPONSE["trafficStats"][0], spfSuccessRatio="n/a", dkimSuccessRatio=1.4)
    items = parse_all(postmaster, json.dumps({"trafficStats": [day]}))
    (record,) = [item for item in items if isinstance(item, PostmasterDayRecord)]
    rejected = {item.error.field: item.error.message for item in items if isinstance(item, Rejected)}
    assert record.day == date(2026, 3, 1)
    assert record.spam_rate == pytest.approx(0.0021)
    assert record.dmarc_success_rate == pytest.approx(0.98)
    assert record.domain_reputation is Reputation.MEDIUM
    assert record.spf_success_rate is None
    assert record.dkim_success_rate is None
    assert sorted(rejected) == ["dkimSuccessRatio", "spfSuccessRatio"]
    assert rejected["spfSuccessRatio"].startswith("shop.example 2026-03-01: invalid ratio 'n/a': expected a number from 0 to 1")
    assert rejected["spfSuccessRatio"].endswith("the day's other values are kept")


def test_postmaster_v1_bad_error_ratio_keeps_day():
    day = dict(V1_RESPONSE["trafficStats"][0], deliveryErrors=[{"errorClass": "PERMANENT_ERROR", "errorType": "BAD_PTR_RECORD", "errorRatio": "high"}])
    items = parse_all(postmaster, json.dumps({"trafficStats": [day]}))
    (record,) = [item for item in items if isinstance(item, PostmasterDayRecord)]
    (rejected,) = [item for item in items if isinstance(item, Rejected)]
    assert record.spam_rate == pytest.approx(0.0021)
    assert record.delivery_error_rate is None
    assert rejected.error.field == "deliveryErrors.errorRatio"


def test_postmaster_v1_tls_rate_is_inbound():
    day = dict(V1_RESPONSE["trafficStats"][0], inboundEncryptionRatio=0.97, outboundEncryptionRatio=0.5)
    (record,) = parse_all(postmaster, json.dumps({"trafficStats": [day]}))
    assert record.tls_rate == pytest.approx(0.97)


def test_postmaster_v2_unknown_value_type_noted():
    row = {"name": "domains/shop.example/domainStats/e", "metric": "SPAM_RATE", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"stringValue": "low"}}
    (record,) = parse_all(postmaster, json.dumps({"domainStats": [row], "nextPageToken": ""}))
    assert record.spam_rate is None
    assert record.unknown_fields == ("value.stringValue",)
