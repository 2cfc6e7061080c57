"""Helpers for the report parser tests: fixture files, containers built on the fly, parsing a file."""

from __future__ import annotations

import gzip
import io
import zipfile
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

from inboxwatch.parsers.base import ParseOutcome
from inboxwatch.sources.files import parse_path

FIXTURES = Path(__file__).parent / "fixtures" / "reports"

# An aggregate report small enough to embed in other inputs.
MINIMAL_AGGREGATE = b"""<?xml version="1.0"?>
<feedback>
  <report_metadata>
    <org_name>Tiny Reporter</org_name>
    <report_id>tiny-1</report_id>
    <date_range><begin>1700000000</begin><end>1700086399</end></date_range>
  </report_metadata>
  <policy_published><domain>sender.example</domain><p>none</p></policy_published>
  <record>
    <row>
      <source_ip>192.0.2.1</source_ip><count>2</count>
      <policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated>
    </row>
    <identifiers><header_from>sender.example</header_from></identifiers>
  </record>
</feedback>
"""


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def zip_bytes(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def report_email(attachment: bytes, media_type: str, filename: str = "report", subject: str = "Report Domain: sender.example") -> bytes:
    """Build a multipart email with a text part and `attachment` under `media_type`."""
    message = MIMEMultipart()
    message["From"] = "reports@receiver.example"
    message["To"] = "dmarc@sender.example"
    message["Subject"] = subject
    message.attach(MIMEText("A report is attached.\n"))
    maintype, subtype = media_type.split("/", 1)
    if maintype == "text":
        part = MIMEText(attachment.decode("utf-8"), subtype)
    else:
        part = MIMEApplication(attachment, subtype)
    part.add_header("Content-Disposition", "attachment", filename=filename)
    message.attach(part)
    return message.as_bytes()


def parse_bytes(tmp_path: Path, name: str, data: bytes, kind: str | None = None) -> ParseOutcome:
    """Write `data` to a file named `name` and parse it as the `inboxwatch parse` command does."""
    path = tmp_path / name
    path.write_bytes(data)
    return parse_path(str(path), kind)
