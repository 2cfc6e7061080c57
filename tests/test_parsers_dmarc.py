"""DMARC aggregate reports: schemas, tolerated quirks, repairs and rejected input."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from inboxwatch.cli.parse import command as parse_command
from inboxwatch.errors import ParseError
from inboxwatch.model.reports import spread_over_days
from inboxwatch.parsers.dmarc import parse_report
from report_support import MINIMAL_AGGREGATE, fixture, gzip_bytes, parse_bytes, report_email, zip_bytes

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feedback><report_metadata><org_name>&lol3;</org_name></report_metadata></feedback>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<feedback><report_metadata><org_name>&secret;</org_name></report_metadata></feedback>
"""


def test_dmarc_rfc7489_metadata():
    report = parse_report(fixture("dmarc-rfc7489.xml"), "test")
    assert report.org_name == "Receiver Example"
    assert report.email == "dmarc-reports@receiver.example"
    assert report.report_id == "agg-7489-0001"
    assert report.begin == 1700000000
    assert report.end == 1700086399
    assert report.version == "1.0"
    assert report.errors == ("one record had no SPF result",)


def test_dmarc_rfc7489_policy_published_lowercased():
    policy = parse_report(fixture("dmarc-rfc7489.xml"), "test").policy
    assert policy.domain == "sender.example"
    assert policy.p == "quarantine"
    assert policy.adkim == "r"
    assert policy.pct == 100
    assert policy.fo == "1"
    assert policy.np is None


def test_dmarc_rfc7489_rows():
    report = parse_report(fixture("dmarc-rfc7489.xml"), "test")
    first, second = report.rows
    assert first.source_ip == "192.0.2.10"
    assert first.count == 1234
    assert first.disposition == "none"
    assert first.dkim == "pass"
    assert first.spf == "fail"
    assert first.dmarc_pass is True
    assert first.envelope_from is None
    assert [(reason.type, reason.comment) for reason in first.reasons] == [("forwarded", "list server")]
    assert [(result.domain, result.selector, result.result) for result in first.dkim_results] == [
        ("sender.example", "s1", "pass"),
        ("esp.example", "esp", "pass"),
    ]
    assert [(result.domain, result.scope, result.result) for result in first.spf_results] == [
        ("lists.example", "mfrom", "softfail")
    ]
    assert second.count == 6
    assert second.dmarc_pass is False
    assert second.dkim_results == ()
    assert report.messages == 1240


def test_dmarc_bis_namespace_fields():
    report = parse_report(fixture("dmarc-bis.xml"), "test")
    assert report.version == "2.0"
    assert report.generator == "Bis Reporter 2.1"
    assert report.policy.np == "reject"
    assert report.policy.testing == "y"
    assert report.policy.discovery_method == "treewalk"
    assert report.policy.pct is None
    assert report.rows[0].source_ip == "2001:db8::25"
    assert report.rows[0].dkim_results[0].human_result == "good signature"


def test_dmarc_to_json_contract_fields():
    data = parse_report(fixture("dmarc-rfc7489.xml"), "test").to_json()
    assert data["org_name"] == "Receiver Example"
    assert data["report_id"] == "agg-7489-0001"
    assert data["begin"] == 1700000000
    assert data["end"] == 1700086399
    assert data["policy_domain"] == "sender.example"
    assert data["rows"] == 2
    assert data["messages"] == 1240
    assert len(data["records"]) == 2
    json.dumps(data)


@pytest.mark.parametrize(
    "name, data",
    [
        ("report.xml", MINIMAL_AGGREGATE),
        ("report.xml.gz", gzip_bytes(MINIMAL_AGGREGATE)),
        ("report.xml.gz.gz", gzip_bytes(gzip_bytes(MINIMAL_AGGREGATE))),
        ("report.zip", zip_bytes(("folder/", b""), ("folder/report.xml", MINIMAL_AGGREGATE))),
        ("unnamed.zip", zip_bytes(("", MINIMAL_AGGREGATE))),
        ("zip.eml", report_email(zip_bytes(("r.xml", MINIMAL_AGGREGATE)), "application/zip")),
        ("gzip.eml", report_email(gzip_bytes(MINIMAL_AGGREGATE), "application/octet-stream")),
        ("xml.eml", report_email(MINIMAL_AGGREGATE, "text/xml")),
    ],
    ids=["xml", "gzip", "gzip-in-gzip", "zip-folder", "zip-unnamed-entry", "email-zip", "email-octet-stream", "email-text-xml"],
)
def test_dmarc_detected_in_container(tmp_path, name, data):
    outcome = parse_bytes(tmp_path, name, data)
    assert outcome.error is None
    assert outcome.kind == "dmarc-aggregate"
    assert [report.report_id for report in outcome.records] == ["tiny-1"]
    assert outcome.records[0].messages == 2


def test_dmarc_long_date_range_kept():
    data = MINIMAL_AGGREGATE.replace(b"<end>1700086399</end>", b"<end>1794694399</end>")
    report = parse_report(data, "test")
    assert report.begin == 1700000000
    assert report.end == 1794694399
    shares = report.daily_messages()
    assert len(shares) > 365 * 2
    assert sum(share for _, share in shares) == pytest.approx(2)


def test_spread_over_days_by_seconds_covered():
    # 18:00 on 14 Nov 2023 to 06:00 on 15 Nov 2023 UTC: half the range on each day.
    begin = 1699984800
    shares = spread_over_days(begin, begin + 12 * 3600, 10)
    assert shares == [(date(2023, 11, 14), 5.0), (date(2023, 11, 15), 5.0)]


def test_spread_over_days_empty_range_on_first_day():
    assert spread_over_days(1700000000, 1700000000, 3) == [(date(2023, 11, 14), 3.0)]


def test_dmarc_unclosed_wrapper_recovered_with_warning():
    data = MINIMAL_AGGREGATE.replace(
        b"<feedback>", b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">\n<feedback>', 1
    )
    report = parse_report(data, "test")
    assert report.report_id == "tiny-1"
    assert any("malformed XML" in warning for warning in report.warnings)
    assert any("outside the <feedback> element" in warning for warning in report.warnings)


def test_dmarc_invalid_utf8_byte_recovered_with_warning():
    data = MINIMAL_AGGREGATE.replace(b"Tiny Reporter", b"Tiny \xff Reporter")
    report = parse_report(data, "test")
    assert report.org_name == "Tiny \ufffd Reporter"
    assert any("invalid utf-8 byte" in warning for warning in report.warnings)


def test_dmarc_declared_latin1_read_without_repair():
    data = MINIMAL_AGGREGATE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    report = parse_report(data.replace(b"Tiny Reporter", b"R\xe9porteur"), "test")
    assert report.org_name == "Réporteur"
    assert report.warnings == ()


def test_dmarc_stray_less_than_recovered_with_warning():
    data = MINIMAL_AGGREGATE.replace(b"Tiny Reporter", b"Tiny < Reporter & Co")
    report = parse_report(data, "test")
    assert report.org_name == "Tiny < Reporter & Co"
    assert any("stray" in warning for warning in report.warnings)


def test_dmarc_two_reports_in_one_document_not_repaired():
    data = MINIMAL_AGGREGATE + MINIMAL_AGGREGATE.replace(b'<?xml version="1.0"?>', b"")
    with pytest.raises(ParseError, match="2 <feedback> start tags"):
        parse_report(data, "test")


def test_dmarc_billion_laughs_rejected(tmp_path):
    outcome = parse_bytes(tmp_path, "laughs.xml", BILLION_LAUGHS, kind="dmarc-aggregate")
    assert outcome.records == []
    assert "unsafe XML rejected" in str(outcome.error)


def test_dmarc_external_entity_rejected():
    with pytest.raises(ParseError, match="unsafe XML rejected"):
        parse_report(EXTERNAL_ENTITY, "test")


def test_dmarc_non_numeric_count_names_element():
    data = MINIMAL_AGGREGATE.replace(b"<count>2</count>", b"<count>two</count>")
    with pytest.raises(ParseError) as raised:
        parse_report(data, "test")
    assert "invalid <count> in <record> 1: 'two' is not a whole number" in str(raised.value)
    assert raised.value.field == "record[1]/row/count"


def test_dmarc_non_numeric_begin_names_element():
    data = MINIMAL_AGGREGATE.replace(b"<begin>1700000000</begin>", b"<begin>yesterday</begin>")
    with pytest.raises(ParseError, match="invalid <begin> in <date_range>: 'yesterday'"):
        parse_report(data, "test")


def test_dmarc_missing_report_id_rejected():
    data = MINIMAL_AGGREGATE.replace(b"<report_id>tiny-1</report_id>", b"<report_id> </report_id>")
    with pytest.raises(ParseError, match="missing <report_id>"):
        parse_report(data, "test")


def test_dmarc_zero_byte_file_rejected(tmp_path):
    outcome = parse_bytes(tmp_path, "empty.xml", b"")
    assert outcome.records == []
    assert "empty input" in str(outcome.error)


def test_dmarc_xml_without_report_rejected(tmp_path):
    outcome = parse_bytes(tmp_path, "other.xml", b"<catalog><book/></catalog>", kind="dmarc-aggregate")
    assert outcome.records == []
    assert "no DMARC aggregate report found" in str(outcome.error)


def test_dmarc_truncated_gzip_rejected(tmp_path):
    data = gzip_bytes(MINIMAL_AGGREGATE * 20)
    outcome = parse_bytes(tmp_path, "cut.xml.gz", data[: len(data) // 2], kind="dmarc-aggregate")
    assert outcome.records == []
    assert "truncated gzip" in str(outcome.error)


def test_dmarc_batch_continues_after_bad_files(tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(MINIMAL_AGGREGATE)
    bad = tmp_path / "bad.xml"
    bad.write_bytes(MINIMAL_AGGREGATE.replace(b"<count>2</count>", b"<count>n/a</count>"))
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")

    result = CliRunner().invoke(parse_command, ["--json", str(bad), str(empty), str(good)])

    assert result.exit_code == 0
    lines = {entry["file"]: entry for entry in map(json.loads, result.stdout.splitlines())}
    assert "invalid <count>" in lines[str(bad)]["error"]
    assert lines[str(empty)]["error"]
    assert lines[str(good)]["error"] is None
    assert lines[str(good)]["records"][0]["report_id"] == "tiny-1"
