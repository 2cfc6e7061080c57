"""Syslog prefixes and timestamps: RFC 3164, RFC 5424 and ISO 8601."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inboxwatch.parsers.syslog import TimestampReader, split_prefix

JAN_2_2025 = datetime(2025, 1, 2, 12, 0, tzinfo=timezone.utc)
CET = timezone(timedelta(hours=1))


def test_split_prefix_rfc3164():
    prefix = split_prefix("Sep  4 01:24:11 mx1 postfix-out/smtp[5965]: 4ABC1: removed")
    assert prefix is not None
    assert prefix.timestamp == "Sep  4 01:24:11"
    assert prefix.host == "mx1"
    assert prefix.program == "postfix-out/smtp"
    assert prefix.pid == "5965"
    assert prefix.message == "4ABC1: removed"


def test_split_prefix_rfc3164_unpadded_day():
    prefix = split_prefix("Apr 6 13:05:01 server postfix/smtpd[20589]: connect from x")
    assert prefix is not None
    assert prefix.timestamp == "Apr  6 13:05:01"
    assert prefix.program == "postfix/smtpd"


def test_split_prefix_without_pid():
    prefix = split_prefix("Sep  4 01:24:11 mx1 dovecot: lmtp(42): connect")
    assert prefix is not None
    assert prefix.program == "dovecot"
    assert prefix.pid is None
    assert prefix.message == "lmtp(42): connect"


def test_split_prefix_iso8601():
    prefix = split_prefix("2024-01-02T03:04:05.123456+01:00 mx1 postfix/submission/smtpd[12]: NOQUEUE: reject")
    assert prefix is not None
    assert prefix.timestamp == "2024-01-02T03:04:05.123456+01:00"
    assert prefix.host == "mx1"
    assert prefix.program == "postfix/submission/smtpd"
    assert prefix.message == "NOQUEUE: reject"


def test_split_prefix_priority_is_skipped():
    prefix = split_prefix("<22>Sep  4 01:24:11 mx1 postfix/qmgr[1]: 4ABC1: removed")
    assert prefix is not None
    assert prefix.program == "postfix/qmgr"


def test_split_prefix_rfc5424_with_structured_data():
    line = '<22>1 2024-01-02T03:04:05Z mx1 postfix/qmgr 99 - [origin ip="192.0.2.1"][meta x="a\\]b"] 4ABC1: removed'
    prefix = split_prefix(line)
    assert prefix is not None
    assert prefix.timestamp == "2024-01-02T03:04:05Z"
    assert prefix.program == "postfix/qmgr"
    assert prefix.pid == "99"
    assert prefix.message == "4ABC1: removed"


def test_split_prefix_rfc5424_nil_fields():
    prefix = split_prefix("<34>1 2003-10-11T22:14:15.003Z - - - ID47 - hello")
    assert prefix is not None
    assert prefix.host == ""
    assert prefix.program == ""
    assert prefix.pid is None
    assert prefix.message == "hello"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("", id="empty"),
        pytest.param("ir/)", id="wrapped-continuation"),
        pytest.param("2013-01-04 17:03:46 login authenticator failed for x", id="exim-bare"),
        pytest.param("Sep  4 01:24:11 only-a-host", id="no-program"),
        pytest.param("# failJSON: {}", id="comment"),
    ],
)
def test_split_prefix_none_without_syslog_prefix(line):
    assert split_prefix(line) is None


def test_timestamp_new_year_rollover():
    reader = TimestampReader(JAN_2_2025, timezone.utc)
    assert reader.read("Dec 31 23:59:59") == datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert reader.read("Jan  1 00:00:01") == datetime(2025, 1, 1, 0, 0, 1, tzinfo=timezone.utc)


def test_timestamp_day_after_reference_stays_in_year():
    # A day of slack covers a clock or zone difference between writer and reader.
    reader = TimestampReader(JAN_2_2025, timezone.utc)
    assert reader.read("Jan  3 08:00:00").year == 2025
    assert reader.read("Jan  4 08:00:00").year == 2024


def test_timestamp_february_29_goes_to_leap_year():
    reader = TimestampReader(datetime(2025, 6, 1, tzinfo=timezone.utc), timezone.utc)
    assert reader.read("Feb 29 10:00:00") == datetime(2024, 2, 29, 10, tzinfo=timezone.utc)


def test_timestamp_rfc3164_uses_context_zone():
    reader = TimestampReader(JAN_2_2025, CET)
    moment = reader.read("Jan  1 10:00:00")
    assert moment is not None
    assert moment.utcoffset() == timedelta(hours=1)


def test_timestamp_iso8601_keeps_offset():
    reader = TimestampReader(JAN_2_2025, timezone.utc)
    moment = reader.read("2024-01-02T03:04:05.123456+01:00")
    assert moment == datetime(2024, 1, 2, 2, 4, 5, 123456, tzinfo=timezone.utc)


def test_timestamp_iso8601_without_zone_uses_context_zone():
    reader = TimestampReader(JAN_2_2025, CET)
    moment = reader.read("2017-07-30 18:51:05.712")
    assert moment == datetime(2017, 7, 30, 18, 51, 5, 712000, tzinfo=CET)


def test_timestamp_exim_zone_without_colon():
    reader = TimestampReader(JAN_2_2025, timezone.utc)
    assert reader.read("2024-01-02 03:04:05 -0500") == datetime(2024, 1, 2, 8, 4, 5, tzinfo=timezone.utc)


def test_timestamp_rfc3164_across_dst_change():
    # Europe/Berlin moves from +01:00 to +02:00 at 02:00 local time on 31 March 2024.
    berlin = ZoneInfo("Europe/Berlin")
    reader = TimestampReader(datetime(2024, 6, 1, tzinfo=timezone.utc), berlin)
    for text, expected in [
        ("Mar 31 01:59:00", datetime(2024, 3, 31, 1, 59, 0, tzinfo=berlin)),
        ("Mar 31 01:59:59", datetime(2024, 3, 31, 1, 59, 59, tzinfo=berlin)),
        ("Mar 31 03:00:07", datetime(2024, 3, 31, 3, 0, 7, tzinfo=berlin)),
        ("Mar 31 03:00:59", datetime(2024, 3, 31, 3, 0, 59, tzinfo=berlin)),
    ]:
        moment = reader.read(text)
        assert moment == expected, text
        assert moment.utcoffset() == expected.utcoffset(), text


@pytest.mark.parametrize(
    "text", ["Feb 30 10:00:00", "Jan  1 25:00:00", "Foo  1 10:00:00", "Jan  1 10:00:60", "Jan  1 10:60:00", "2024-13-01T00:00:00Z"]
)
def test_timestamp_invalid_is_none(text):
    assert TimestampReader(JAN_2_2025, timezone.utc).read(text) is None


@given(st.text(max_size=200))
def test_split_prefix_arbitrary_text_never_raises(text):
    prefix = split_prefix(text)
    if prefix is not None:
        TimestampReader(JAN_2_2025, timezone.utc).read(prefix.timestamp)


def test_split_prefix_iso8601_with_space():
    prefix = split_prefix("2019-10-22 03:39:17 mx1.example exim[29786]: message")
    assert prefix is not None
    assert prefix.timestamp == "2019-10-22 03:39:17"
    assert prefix.program == "exim"
