"""Bounce messages: RFC 3464 DSNs, non-standard notices, auto-replies and damaged input."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

from inboxwatch.errors import ParseError
from inboxwatch.model.bounces import AutoReplyRecord, BounceRecord
from inboxwatch.model.records import Rejected
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.bounce import parse, sniff
from inboxwatch.parsers.bounce_records import MAX_NOTICE_PART_CHARS, notice_text
from inboxwatch.parsers.bounce_text import notice_body
from inboxwatch.parsers.mime import parse_message
from inboxwatch.sources.files import parse_path

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"


def parse_bytes(data: bytes) -> list:
    return list(parse(io.BytesIO(data), ParseContext(source="test")))


def parse_fixture(name: str) -> list:
    return parse_bytes((FIXTURES / name).read_bytes())


def notice(body: str, *, headers: str = "", content_type: str = "text/plain; charset=us-ascii") -> bytes:
    """A minimal single-part bounce from a mailer daemon."""
    return (
        "From: MAILER-DAEMON@mx.sender.test\n"
        "To: news@sender.test\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Content-Type: %s\n%s\n%s" % (content_type, headers, body)
    ).encode("latin-1", errors="replace")


def test_dsn_gives_one_record_per_recipient():
    records = parse_fixture("dsn-postfix.eml")
    assert [record.recipient for record in records] == ["ghost@receiver.test", "full@receiver.test"]
    assert [record.reason for record in records] == ["userunknown", "mailboxfull"]
    assert [record.hard for record in records] == [True, False]
    assert [record.status for record in records] == ["5.1.1", "5.2.2"]


def test_dsn_fields_and_returned_headers():
    record = parse_fixture("dsn-postfix.eml")[0]
    assert record.smtp_code == 550
    assert record.action == "failed"
    assert record.remote_mta == "mx.receiver.test"
    assert record.reporting_mta == "mx.sender.test"
    assert record.original_message_id == "<offer-42@sender.test>"
    assert record.campaign == "spring-sale"
    assert record.tenant == "acme"
    assert record.format == "rfc3464"


def test_dsn_record_json_has_contract_fields():
    data = parse_fixture("dsn-postfix.eml")[0].to_json()
    for field in ("recipient", "reason", "hard", "status", "smtp_code", "diagnostic", "remote_mta", "action",
                  "original_message_id", "campaign", "tenant"):
        assert field in data
    assert data["feedback_type"] is None
    assert data["kind"] == "bounce"


def test_exchange_dsn_is_microsoft_block():
    record = parse_fixture("exchange.eml")[0]
    assert record.recipient == "someone@hotmail.test"
    assert record.reason == "blocked"
    assert record.rule == "microsoft-s3150"


def test_qmail_notice_is_split_from_quoted_message():
    records = parse_fixture("qmail.eml")
    assert len(records) == 1
    assert records[0].recipient == "nobody@receiver.test"
    assert records[0].reason == "userunknown"
    assert records[0].status == "5.1.1"
    assert records[0].original_message_id == "<qmail-1@sender.test>"
    assert records[0].format == "text"


def test_exchange_2003_notice_lists_each_recipient():
    body = (
        "Your message\n\n  To:      news@sender.test\n  Subject: offers\n\n"
        "did not reach the following recipient(s):\n\n"
        "one@receiver.test on Thu, 29 Apr 2007 16:51:51 -0500\n"
        "    The recipient name is not recognized\n"
        "two@receiver.test on Thu, 29 Apr 2007 16:51:51 -0500\n"
        "    MSEXCH:IMS:EXAMPLE 0 (000C05A6) Unknown Recipient\n"
    )
    records = parse_bytes(notice(body))
    assert [record.recipient for record in records] == ["one@receiver.test", "two@receiver.test"]
    assert [record.reason for record in records] == ["userunknown", "userunknown"]


def test_repeated_address_blocks_are_joined():
    body = (
        "   ----- The following addresses had permanent fatal errors -----\n<late@receiver.test>\n\n"
        "   ----- Transcript of session follows -----\n"
        "<late@receiver.test>... Deferred: Name server: receiver.test.: host name lookup failure\n"
    )
    [record] = parse_bytes(notice(body))
    assert record.recipient == "late@receiver.test"
    assert record.reason == "networkerror"


def test_success_dsn_is_delivered():
    message = (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Successful Mail Delivery Report\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nDelivered.\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n\n"
        "Final-Recipient: rfc822; ok@receiver.test\nAction: delivered\nStatus: 2.0.0\n"
        "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued\n\n--b--\n"
    ).encode()
    record = parse_bytes(message)[0]
    assert record.reason == "delivered"
    assert record.hard is False


def test_blocks_without_blank_lines_are_split():
    message = (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Undeliverable\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n"
        "Final-Recipient: rfc822; one@receiver.test\nAction: failed\nStatus: 5.2.2\n"
        "Final-Recipient: rfc822; two@receiver.test\nAction: failed\nStatus: 5.1.1\n\n--b--\n"
    ).encode()
    records = parse_bytes(message)
    assert [record.recipient for record in records] == ["one@receiver.test", "two@receiver.test"]
    assert [record.reason for record in records] == ["mailboxfull", "userunknown"]


# (id, MIME charset, Python codec, body)
CHARSET_CASES = [
    ("iso-2022-jp", "iso-2022-jp", "iso-2022-jp", "<taro@receiver.test>:\n550 5.1.1 ユーザが存在しません\n"),
    ("euc-jp-labelled-iso-2022-jp", "iso-2022-jp", "euc-jp", "<jiro@receiver.test>:\n550 5.1.1 ユーザが存在しません\n"),
    ("windows-1252", "windows-1252", "windows-1252", "<marie@receiver.test>:\n550 5.1.1 Adresse inconnue – utilisateur inconnu\n"),
    ("koi8-r", "koi8-r", "koi8-r", "<ivan@receiver.test>:\n550 5.1.1 user unknown: Пользователь не найден\n"),
]


@pytest.mark.parametrize("charset, codec, body", [case[1:] for case in CHARSET_CASES], ids=[case[0] for case in CHARSET_CASES])
def test_non_utf8_charset_is_decoded(charset, codec, body):
    data = (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: failure notice\n"
        "Content-Type: text/plain; charset=%s\n\n" % charset
    ).encode() + body.encode(codec)
    record = parse_bytes(data)[0]
    assert record.reason == "userunknown"
    assert record.diagnostic.split()[-1] == body.split()[-1]


def test_base64_body_is_decoded():
    body = base64.encodebytes(b"<gone@receiver.test>:\n550 5.1.1 No such user here\n").decode()
    record = parse_bytes(notice(body, headers="Content-Transfer-Encoding: base64\n"))[0]
    assert record.recipient == "gone@receiver.test"
    assert record.reason == "userunknown"


def test_quoted_printable_body_is_decoded():
    body = "<full@receiver.test>:\n552 5.2.2 Mailbox quota exceeded =\nfor this recipient\n"
    record = parse_bytes(notice(body, headers="Content-Transfer-Encoding: quoted-printable\n"))[0]
    assert record.reason == "mailboxfull"
    assert "exceeded for this recipient" in record.diagnostic


def test_truncated_mime_gives_best_effort_record():
    data = (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Undelivered Mail\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="cut"\n\n'
        "--cut\nContent-Type: text/plain\n\n<lost@receiver.test>: host mx said: 550 5.1.1 User unknown\n\n"
        "--cut\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n\nFinal-Recip"
    ).encode()
    record = parse_bytes(data)[0]
    assert record.recipient == "lost@receiver.test"
    assert record.reason == "userunknown"


def test_lost_boundary_parameter_is_recovered():
    data = (
        "From: post_master@receiver.test\nTo: news@sender.test\nSubject: Re: offers\n"
        'Content-Type: multipart/mixed; boundary="outer"\n\n'
        "--outer\nContent-Type: multipart/alternative;\nboundary=\"inner\"\n\n"
        "--inner\nContent-Type: text/plain\n\nError: Invalid user address\n"
        "550 - Requested action not taken: no such user here\nRCPT TO: 555@sms.receiver.test\n\n"
        "--inner--\n\n--outer--\n"
    ).encode()
    record = parse_bytes(data)[0]
    assert record.recipient == "555@sms.receiver.test"
    assert record.reason == "userunknown"


def test_bounce_without_recipient_keeps_diagnostic():
    record = parse_bytes(notice("Your message could not be delivered: 552 5.2.2 mailbox full\n"))[0]
    assert isinstance(record, BounceRecord)
    assert record.recipient is None
    assert record.reason == "mailboxfull"


def test_eight_bit_header_does_not_break_parsing():
    data = notice("<x@receiver.test>:\n550 5.1.1 unknown user\n").replace(
        b"Subject: Undelivered Mail Returned to Sender", b"Subject: Unzustellbar: Gr\xfc\xdfe"
    )
    record = parse_bytes(data)[0]
    assert record.reason == "userunknown"


def dsn_message(recipient_block: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Returned mail\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n\n"
        + recipient_block
        + "\n--b--\n"
    ).encode()


def test_x_unix_diagnostic_is_mailer_error():
    data = dsn_message("Final-Recipient: rfc822; local@sender.test\nAction: failed\nStatus: 4.3.0\nDiagnostic-Code: X-Unix; 75\n")
    record = parse_bytes(data)[0]
    assert record.reason == "mailererror"
    assert record.rule == "diagnostic-type x-unix"


def test_failed_recipients_header_names_recipients():
    data = notice(
        "A message that you sent could not be delivered.\n\n  first@receiver.test\n    retry timeout exceeded\n",
        headers="X-Failed-Recipients: first@receiver.test, second@receiver.test\n",
    )
    records = parse_bytes(data)
    assert [record.recipient for record in records] == ["first@receiver.test", "second@receiver.test"]
    assert records[0].reason == "expired"


def test_forwarded_bounce_is_read_from_attachment():
    inner = (FIXTURES / "dsn-postfix.eml").read_text()
    data = (
        "From: helpdesk@sender.test\nTo: postmaster@sender.test\nSubject: Fwd: bounce\n"
        'Content-Type: multipart/mixed; boundary="fwd"\n\n'
        "--fwd\nContent-Type: text/plain\n\nSee attached.\n\n"
        "--fwd\nContent-Type: message/rfc822\n\n" + inner + "\n--fwd--\n"
    ).encode()
    records = parse_bytes(data)
    assert [record.reason for record in records] == ["userunknown", "mailboxfull"]


def test_mime_body_without_content_type_is_split():
    data = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.sender.test>\nTo: news@sender.test\n"
        "Subject: Returned mail: see transcript for details\n\n"
        "This is a MIME-encapsulated message\n\n--sep\n\nThe original message could not be delivered.\n\n"
        "--sep\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n\n"
        "Final-Recipient: RFC822; late@receiver.test\nAction: failed\nStatus: 4.4.7\n\n--sep--\n"
    ).encode()
    record = parse_bytes(data)[0]
    assert record.recipient == "late@receiver.test"
    assert record.reason == "expired"
    assert record.format == "rfc3464"


def test_reply_at_connection_is_blocked():
    data = notice(
        "  someone@receiver.test\n    SMTP error from remote mail server after initial connection:\n"
        "    host mx.receiver.test [192.0.2.9]: 554 mx.receiver.test ESMTP closing\n",
        headers="X-Failed-Recipients: someone@receiver.test\n",
    )
    record = parse_bytes(data)[0]
    assert record.reason == "blocked"
    assert record.rule.endswith("at connection")


def test_plain_message_is_rejected_with_reason():
    data = b"From: friend@sender.test\nTo: me@receiver.test\nSubject: lunch?\n\nSee you at noon.\n"
    with pytest.raises(ParseError, match="no bounce, complaint or auto-reply found"):
        parse_bytes(data)


def test_vacation_reply_is_auto_reply():
    records = parse_fixture("vacation.eml")
    assert len(records) == 1
    assert isinstance(records[0], AutoReplyRecord)
    assert records[0].evidence.startswith("Auto-Submitted")
    assert records[0].original_message_id == "<offer-42@sender.test>"


def test_vacation_subject_without_headers_is_auto_reply():
    data = b"From: bob@receiver.test\nTo: news@sender.test\nSubject: Automatic reply: offers\n\nAway.\n"
    records = parse_bytes(data)
    assert records[0].kind == "auto-reply"


def test_mbox_bad_message_costs_only_itself():
    good = notice("<x@receiver.test>:\n550 5.1.1 unknown user\n")
    bad = b"From: someone@sender.test\nSubject: hi\n\nnothing here\n"
    data = b"From MAILER-DAEMON Thu Mar  5 12:00:00 2026\n" + good + b"\n\nFrom someone Thu Mar  5 12:01:00 2026\n" + bad
    items = parse_bytes(data)
    assert isinstance(items[0], BounceRecord)
    assert isinstance(items[1], Rejected)


SNIFF_CASES = [
    ("dsn", (FIXTURES / "dsn-postfix.eml").read_bytes(), 90),
    ("plain-mail", b"From: a@b.test\nTo: c@d.test\nSubject: hi\n\nhello\n", 30),
    ("syslog", b"Mar  5 12:00:00 mx postfix/smtp[123]: 4ABCD: to=<a@b.test>, status=sent\n", 0),
    ("json", b'{"event": "bounce", "email": "a@b.test"}\n', 0),
    ("random-text", b"just some words\nmore words\n", 0),
]


@pytest.mark.parametrize("head, score", [case[1:] for case in SNIFF_CASES], ids=[case[0] for case in SNIFF_CASES])
def test_sniff_scores_email_against_other_inputs(head, score):
    assert sniff(head, "input") == score


def test_parse_path_reports_kind_of_first_record(tmp_path):
    path = tmp_path / "reply.eml"
    path.write_bytes((FIXTURES / "vacation.eml").read_bytes())
    outcome = parse_path(str(path), "bounce")
    assert outcome.error is None
    assert outcome.kind == "auto-reply"


def test_parse_path_non_email_file_gives_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"\x00\x01binary junk\xff\xfe")
    outcome = parse_path(str(path), "bounce")
    assert outcome.error is not None
    assert outcome.records == []


def dsn(recipient_block: str, text: str = "The mail system reports a failure.\n", *, headers: str = "") -> bytes:
    """A multipart/report DSN with the given per-recipient fields and notice text."""
    return (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Delivery Status Notification\n%s"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\n\n'
        "--R\nContent-Type: text/plain\n\n%s\n"
        "--R\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n\n%s\n"
        "--R--\n" % (headers, text, recipient_block)
    ).encode()


def test_ses_summary_code_does_not_back_remote_reply():
    block = (
        "Final-Recipient: rfc822; a@receiver.test\nAction: failed\nStatus: 5.3.0\n"
        "Diagnostic-Code: smtp; 5.3.0 - Other mail system problem 550-'Unknown user a@receiver.test'\n"
    )
    [record] = parse_bytes(dsn(block))
    assert record.reason == "filtered"
    assert record.status == "5.3.0"


def test_status_comment_rejected_address_means_rcpt():
    block = (
        "Final-Recipient: rfc822; a@receiver.test\nAction: failed\n"
        "Status: 5.0.0 (Remote SMTP server has rejected address)\n"
        "Diagnostic-Code: smtp; 550 <a@receiver.test>: User unknown\n"
    )
    [record] = parse_bytes(dsn(block))
    assert record.reason == "userunknown"
    assert record.hard is True


def test_notice_statement_outranks_quoted_reply():
    text = "The user(s) account is disabled.\n\n<a@receiver.test>: 550 user unknown (in reply to RCPT TO command)\n"
    block = "Final-Recipient: rfc822; a@receiver.test\nAction: failed\nStatus: 5.0.0\n"
    [record] = parse_bytes(dsn(block, text))
    assert record.reason == "suspend"
    assert record.rule == "ezweb-account-disabled"
    assert record.status == "5.0.0"


def test_bounce_quoted_in_text_body_is_read():
    inner = dsn(
        "Final-Recipient: rfc822; a@receiver.test\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 421 Service not available, closing transmission channel\n"
    ).decode()
    data = (
        "From: postmaster@isp.test\nTo: customer@sender.test\nSubject: Your mail could not be delivered\n\n"
        "The message below could not be delivered.\n---------\n"
        "From MAILER-DAEMON  Thu Apr 29 23:34:45 2015\nReturn-Path: <>\n" + inner
    ).encode()
    [record] = parse_bytes(data)
    assert record.recipient == "a@receiver.test"
    assert record.reason == "blocked"
    assert record.format == "rfc3464"


def test_rcpt_inside_header_name_is_not_a_command():
    body = (
        "<a@receiver.test>: 550 Unknown user\n\n"
        "--- Below this line is a copy of the message.\n\nOriginal-Rcpt-To: a@receiver.test\n"
    )
    [record] = parse_bytes(notice(body))
    assert record.reason == "filtered"


def test_notice_body_marker_after_blank_line():
    text = "Delivery failed.\n\n<a@receiver.test>: 550 no such user\n\n--- Original message follows ---\nSubject: x\n"
    assert notice_body(text) == "Delivery failed.\n\n<a@receiver.test>: 550 no such user\n"


def test_notice_text_caps_large_text_part():
    attachment = "log line that is not part of the notice\n" * 10000
    data = (
        'From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Undelivered Mail\n'
        'Content-Type: multipart/mixed; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\n<a@receiver.test>: 550 5.1.1 User unknown\n\n"
        "--B\nContent-Type: text/plain\n\n" + attachment + "--B--\n"
    ).encode()
    text = notice_text(parse_message(data))
    assert len(text) <= 2 * MAX_NOTICE_PART_CHARS + 1
    [record] = parse_bytes(data)
    assert record.reason == "userunknown"


def test_indented_delimiter_still_splits_parts():
    data = (
        "From: MAILER-DAEMON@mx.sender.test\nTo: news@sender.test\nSubject: Returned mail: User unknown\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B.1/mx"\n\n'
        "--B.1/mx\nContent-Type: text/plain\n\n<a@receiver.test> (unrecoverable error)\n\n"
        " --B.1/mx\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.sender.test\n\n"
        "Final-Recipient: rfc822;a@receiver.test\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n--B.1/mx--\n"
    ).encode()
    [record] = parse_bytes(data)
    assert record.format == "rfc3464"
    assert record.reason == "userunknown"
    assert record.status == "5.1.1"
