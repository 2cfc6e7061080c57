"""`POST /api/v1/ingest`: counts of records stored by handlers, uploads that produce nothing, and error wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from web_support import bearer, make_client

DMARC_REPORT = Path(__file__).parent / "fixtures" / "reports" / "dmarc-bis.xml"


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path)


def upload(client, name: str, content: bytes, **fields):
    return client.post("/api/v1/ingest", files={"file": (name, content)}, data=fields, headers=bearer(client, "operator"))


def test_ingest_dmarc_report_counts_record(client):
    response = upload(client, DMARC_REPORT.name, DMARC_REPORT.read_bytes())

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "dmarc-aggregate"
    assert body["records_stored"] == 1
    assert body["record_kinds"] == {"dmarc-aggregate": 1}
    assert body["stored"] == 0


def test_ingest_dmarc_report_twice_is_duplicate(client):
    upload(client, DMARC_REPORT.name, DMARC_REPORT.read_bytes())
    response = upload(client, DMARC_REPORT.name, DMARC_REPORT.read_bytes())

    assert response.status_code == 200
    assert response.json()["duplicates"] == 1
    assert response.json()["records_stored"] == 0


def test_ingest_wrong_kind_is_422(client):
    response = upload(client, DMARC_REPORT.name, DMARC_REPORT.read_bytes(), kind="postfix")

    assert response.status_code == 422
    assert "nothing recognised as postfix in dmarc-bis.xml" in response.json()["detail"]


def test_ingest_corrupt_gzip_names_upload(client):
    response = upload(client, "mail.log.gz", b"\x1f\x8bnot gzip data")

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "invalid gzip data in mail.log.gz" in detail
    assert "inboxwatch-upload-" not in detail


def test_ingest_unknown_format_names_kind_field(client):
    response = upload(client, "notes.txt", b"hello world\n")

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "set the kind field" in detail
    assert "--kind" not in detail
