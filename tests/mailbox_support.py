"""Messages for the mailbox source tests: a DMARC report, a TLS report, a bounce and an ordinary email."""

from __future__ import annotations

from report_support import MINIMAL_AGGREGATE, fixture, gzip_bytes, report_email


def dmarc_message(report_id: str = "tiny-1") -> bytes:
    """An email carrying a gzipped aggregate report with `report_id`."""
    report = MINIMAL_AGGREGATE.replace(b"<report_id>tiny-1</report_id>", b"<report_id>%s</report_id>" % report_id.encode())
    return report_email(gzip_bytes(report), "application/gzip", filename="report.xml.gz")


def tls_message() -> bytes:
    return report_email(fixture("tlsrpt-rfc8460.json"), "application/tlsrpt+json", filename="report.json", subject="Report Domain: sender.example")


BOUNCE = b"""From: MAILER-DAEMON@mx.receiver.example
To: news@sender.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

The mail system could not deliver your message.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.receiver.example

Final-Recipient: rfc822; nobody@receiver.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <nobody@receiver.example>: Recipient address rejected: User unknown

--b1--
"""

ORDINARY = b"""From: colleague@sender.example
To: dmarc@sender.example
Subject: lunch?

Shall we meet at noon?
"""
