"""Bounce and complaint messages stored as delivery events, without counting a logged bounce twice."""

from datetime import datetime, timezone

import sqlalchemy as sa

from inboxwatch.service.ingest import IngestOptions, ingest_paths
from inboxwatch.store.schema import events, rollups

# Postfix logs the bounce of message <m1@example.com> to bob@example.net ...
POSTFIX_LOG = """\
Mar  3 10:00:01 mx1 postfix/cleanup[101]: 4ABC1: message-id=<m1@example.com>
Mar  3 10:00:01 mx1 postfix/qmgr[102]: 4ABC1: from=<news@example.com>, size=1234, nrcpt=2 (queue active)
Mar  3 10:00:02 mx1 postfix/smtp[103]: 4ABC1: to=<alice@example.org>, relay=mx.example.org[192.0.2.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)
Mar  3 10:00:03 mx1 postfix/smtp[103]: 4ABC1: to=<bob@example.net>, relay=mx.example.net[192.0.2.2]:25, delay=2, delays=0/0/1/1, dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.2] said: 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Mar  3 10:00:04 mx1 postfix/qmgr[102]: 4ABC1: removed
"""

# ... and sends this DSN about it to the sender.
POSTFIX_DSN_TEMPLATE = """\
From: MAILER-DAEMON@mx1.example.com (Mail Delivery System)
To: news@example.com
Subject: Undelivered Mail Returned to Sender
Date: Tue, 3 Mar 2026 10:00:03 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain

This is the mail system at host mx1.example.com.

<{recipient}>: host mx.example.net[192.0.2.2] said: {reply}
    (in reply to RCPT TO command)

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.com
Arrival-Date: Tue, 3 Mar 2026 10:00:01 +0000

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; {reply}

--B1
Content-Type: text/rfc822-headers

From: news@example.com
To: {recipient}
Subject: News
Message-ID: <m1@example.com>
X-Campaign: spring

--B1--
"""

ARF_REPORT = """\
From: feedback@isp.example
To: abuse@example.com
Subject: FW: News
Date: Tue, 3 Mar 2026 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F1"

--F1
Content-Type: text/plain

This is an email abuse report.

--F1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <news@example.com>
Original-Rcpt-To: <carol@isp.example>
Arrival-Date: Tue, 3 Mar 2026 11:00:00 +0000
Source-IP: 192.0.2.10

--F1
Content-Type: text/rfc822-headers

From: news@example.com
To: carol@isp.example
Message-ID: <m2@example.com>

--F1--
"""

AUTO_REPLY = """\
From: dave@example.org
To: news@example.com
Subject: Out of Office: News
Date: Tue, 3 Mar 2026 10:05:00 +0000
Auto-Submitted: auto-replied
In-Reply-To: <m1@example.com>

I am away until Monday.
"""

OPTIONS = IngestOptions(reference_time=datetime(2026, 3, 4, tzinfo=timezone.utc))


def write(path, text):
    path.write_text(text)
    return str(path)


USER_UNKNOWN = "550 5.1.1 <{recipient}>: Recipient address rejected: User unknown"


def postfix_dsn(recipient="bob@example.net", action="failed", status="5.1.1", reply=USER_UNKNOWN):
    return POSTFIX_DSN_TEMPLATE.format(
        recipient=recipient, action=action, status=status, reply=reply.format(recipient=recipient)
    )


def rows(engine, event_type):
    with engine.connect() as conn:
        return conn.execute(sa.select(events).where(events.c.type == event_type)).mappings().all()


def rollup_total(engine, column):
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.sum(rollups.c[column]), 0))).scalar_one()


def test_bounce_message_stores_bounced_event(engine, tmp_path):
    ingest_paths(engine, [write(tmp_path / "dsn.eml", postfix_dsn())], options=OPTIONS)

    bounced = rows(engine, "bounced")
    assert len(bounced) == 1
    event = bounced[0]
    assert event["source"] == "bounce"
    assert event["recipient"] == "bob@example.net"
    assert event["message_id"] == "m1@example.com"
    assert event["bounce_reason"] == "userunknown"
    assert event["hard"] is True
    assert event["enhanced_status"] == "5.1.1"
    assert event["campaign"] == "spring"
    assert event["time"].replace(tzinfo=timezone.utc) == datetime(2026, 3, 3, 10, 0, 3, tzinfo=timezone.utc)
    assert rollup_total(engine, "hard_bounced") == 1


def test_bounce_after_logged_bounce_counts_once(engine, tmp_path):
    log_path = write(tmp_path / "mail.log", POSTFIX_LOG)
    dsn_path = write(tmp_path / "dsn.eml", postfix_dsn())

    ingest_paths(engine, [log_path, dsn_path], options=OPTIONS)

    bounced = rows(engine, "bounced")
    assert len(bounced) == 1
    assert bounced[0]["source"] == "postfix"
    details = bounced[0]["extra"]["bounce_message"]
    assert details["bounce_reason"] == "userunknown"
    assert details["enhanced_status"] == "5.1.1"
    assert rollup_total(engine, "bounced") == 1


def test_bounce_ingested_twice_counts_once(engine, tmp_path):
    dsn_path = write(tmp_path / "dsn.eml", postfix_dsn())

    ingest_paths(engine, [dsn_path], options=OPTIONS)
    ingest_paths(engine, [dsn_path], options=OPTIONS)

    assert len(rows(engine, "bounced")) == 1
    assert rollup_total(engine, "bounced") == 1


def test_bounce_for_other_recipient_counts(engine, tmp_path):
    log_path = write(tmp_path / "mail.log", POSTFIX_LOG)
    dsn_path = write(tmp_path / "dsn.eml", postfix_dsn(recipient="erin@example.net"))

    ingest_paths(engine, [log_path, dsn_path], options=OPTIONS)

    assert sorted(row["recipient"] for row in rows(engine, "bounced")) == ["bob@example.net", "erin@example.net"]


def test_delayed_dsn_stores_deferred_event(engine, tmp_path):
    ingest_paths(engine, [write(tmp_path / "delay.eml", postfix_dsn(action="delayed", status="4.4.1", reply="421 4.4.1 Connection timed out"))], options=OPTIONS)

    assert rows(engine, "bounced") == []
    deferred = rows(engine, "deferred")
    assert len(deferred) == 1
    assert deferred[0]["hard"] is None


def test_success_dsn_stores_no_event(engine, tmp_path):
    ingest_paths(engine, [write(tmp_path / "ok.eml", postfix_dsn(action="delivered", status="2.0.0", reply="250 2.0.0 OK"))], options=OPTIONS)

    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 0


def test_complaint_stores_complained_event(engine, tmp_path):
    ingest_paths(engine, [write(tmp_path / "arf.eml", ARF_REPORT)], options=OPTIONS)

    complained = rows(engine, "complained")
    assert len(complained) == 1
    event = complained[0]
    assert event["source"] == "complaint"
    assert event["recipient"] == "carol@isp.example"
    assert event["message_id"] == "m2@example.com"
    assert event["sending_ip"] == "192.0.2.10"
    assert event["extra"]["feedback_type"] == "abuse"
    assert rollup_total(engine, "complained") == 1


def test_auto_reply_stores_no_event(engine, tmp_path):
    summary = ingest_paths(engine, [write(tmp_path / "ooo.eml", AUTO_REPLY)], options=OPTIONS)

    assert summary.inputs[0].records_unhandled == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 0


def test_bounce_domain_retention_keeps_no_address(engine, tmp_path):
    options = IngestOptions(recipient_retention="domain", reference_time=OPTIONS.reference_time)

    ingest_paths(engine, [write(tmp_path / "dsn.eml", postfix_dsn())], options=options)

    event = rows(engine, "bounced")[0]
    assert event["recipient"] is None
    assert event["recipient_domain"] == "example.net"


def test_complaint_redacted_source_ip_is_dropped(engine, tmp_path):
    report = ARF_REPORT.replace("Source-IP: 192.0.2.10", "Source-IP: x.x.x.x")

    ingest_paths(engine, [write(tmp_path / "arf.eml", report)], options=OPTIONS)

    assert rows(engine, "complained")[0]["sending_ip"] == ""
