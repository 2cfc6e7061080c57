"""JSON Lines event files for every ESP parser: one bad line costs only itself, and files have no total size limit."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from esp_support import FIXTURES, run_parser
from inboxwatch.errors import ParseError
from inboxwatch.model.events import DeliveryEvent
from inboxwatch.model.records import Rejected
from inboxwatch.parsers import esp_body, jsoninput
from inboxwatch.parsers.base import ParseContext
from inboxwatch.parsers.registry import get_parser
from inboxwatch.service.ingest import ingest_paths
from inboxwatch.store.quarantine import list_quarantine

# One JSON fixture per ESP parser that reads its body with `esp_body.read_body`.
ESP_FIXTURES = {
    "ses": "ses/delivery_event.json",
    "sendgrid": "sendgrid/batch.json",
    "mailgun": "mailgun/failed_permanent.json",
    "postmark": "postmark/hard_bounce.json",
    "sparkpost": "sparkpost/batch.json",
    "mandrill": "mandrill/array.json",
    "brevo": "brevo/hard_bounce.json",
    "resend": "resend/bounced.json",
}


def compact_line(fixture: str) -> bytes:
    document = json.loads((FIXTURES / fixture).read_text())
    return json.dumps(document).encode("utf-8") + b"\n"


def ses_line(message_id: str, padding: int = 0) -> bytes:
    document = json.loads((FIXTURES / "ses/delivery_event.json").read_text())
    document["mail"]["messageId"] = message_id
    if padding:
        document["mail"].setdefault("tags", {})["note"] = ["x" * padding]
    return json.dumps(document).encode("utf-8") + b"\n"


def parse_file(kind: str, path: Path) -> tuple[int, list[Rejected]]:
    """Parse a file and return the number of events and the rejected items, without keeping the events."""
    events = 0
    rejected = []
    with open(path, "rb") as stream:
        for item in get_parser(kind).parse(stream, ParseContext(source=str(path))):
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                assert isinstance(item, DeliveryEvent)
                events += 1
    return events, rejected


def test_ses_truncated_middle_line_rejected_alone():
    lines = [ses_line("msg-%d" % number) for number in range(1, 6)]
    lines[2] = lines[2][:100] + b"\n"
    events, rejected = run_parser(get_parser("ses"), b"".join(lines))

    assert len(events) == 4
    assert [event.message_id for event in events] == ["msg-1", "msg-2", "msg-4", "msg-5"]
    assert len(rejected) == 1
    assert rejected[0].error.line == 3
    assert rejected[0].error.offset == len(lines[0]) + len(lines[1])
    assert rejected[0].error.message.startswith("invalid JSON: ")
    assert "column" in rejected[0].error.message
    assert rejected[0].raw == lines[2].decode().rstrip("\n")


def test_ingest_ses_json_lines_stores_good_lines(engine, tmp_path):
    lines = [ses_line("msg-%d" % number) for number in range(1, 6)]
    lines[2] = lines[2][:100] + b"\n"
    path = tmp_path / "firehose.jsonl"
    path.write_bytes(b"".join(lines))

    summary = ingest_paths(engine, [str(path)])

    assert summary.inputs[0].kind == "ses"
    assert summary.inputs[0].error is None
    assert summary.events_stored == 4
    assert summary.rejected == 1
    with engine.connect() as conn:
        (item,) = list_quarantine(conn)
    assert item.location.startswith("line 3, byte %d" % (len(lines[0]) + len(lines[1])))
    assert "invalid JSON" in item.reason


def test_ses_broken_first_line_rejected_alone():
    lines = [ses_line("msg-%d" % number) for number in range(1, 4)]
    lines[0] = lines[0][:80] + b"\n"
    events, rejected = run_parser(get_parser("ses"), b"".join(lines))

    assert [event.message_id for event in events] == ["msg-2", "msg-3"]
    assert len(rejected) == 1
    assert rejected[0].error.line == 1
    assert rejected[0].error.offset == 0


def test_ses_unknown_event_names_line_and_field():
    unknown = json.loads(ses_line("msg-2"))
    unknown["eventType"] = "Teleported"
    body = ses_line("msg-1") + json.dumps(unknown).encode() + b"\n" + ses_line("msg-3")
    events, rejected = run_parser(get_parser("ses"), body)

    assert len(events) == 2
    assert len(rejected) == 1
    assert rejected[0].error.line == 2
    assert rejected[0].error.offset == len(ses_line("msg-1"))
    assert rejected[0].error.field == "eventType"
    assert "Teleported" in rejected[0].error.message


def test_ses_blank_lines_skipped():
    body = b"\n" + ses_line("msg-1") + b"\n  \n" + ses_line("msg-2")
    events, rejected = run_parser(get_parser("ses"), body)

    assert rejected == []
    assert [event.message_id for event in events] == ["msg-1", "msg-2"]


@pytest.mark.parametrize("kind", sorted(ESP_FIXTURES))
def test_esp_json_lines_bad_line_rejected_alone(kind):
    line = compact_line(ESP_FIXTURES[kind])
    per_line, rejected_alone = run_parser(get_parser(kind), line)
    assert rejected_alone == []
    assert per_line, "the fixture gives no event"

    body = line + line[: len(line) // 2] + b"\n" + line
    events, rejected = run_parser(get_parser(kind), body)

    assert len(events) == 2 * len(per_line)
    assert len(rejected) == 1
    assert rejected[0].error.line == 2
    assert rejected[0].error.offset == len(line)
    assert rejected[0].error.message.startswith("invalid JSON: ")


def test_mailgun_events_pages_one_per_line():
    item = json.loads(compact_line(ESP_FIXTURES["mailgun"]))["event-data"]
    page = json.dumps({"items": [item]}).encode() + b"\n"
    events, rejected = run_parser(get_parser("mailgun"), page + page)

    assert rejected == []
    assert len(events) == 2


def test_single_document_keeps_invalid_json_error():
    text = json.dumps(json.loads(compact_line(ESP_FIXTURES["sendgrid"])), indent=2)
    with pytest.raises(ParseError) as caught:
        list(get_parser("sendgrid").parse(io.BytesIO(text[:-40].encode()), ParseContext(source="cut.json")))
    assert caught.value.message.startswith("invalid JSON: ")
    assert caught.value.line is not None


def test_ses_json_lines_larger_than_document_limit(tmp_path):
    path = tmp_path / "firehose.jsonl"
    line = ses_line("msg-1", padding=64 * 1024)
    count = jsoninput.MAX_JSON_BYTES // len(line) + 2
    with open(path, "wb") as stream:
        for _ in range(count // 2):
            stream.write(line)
        stream.write(b'{"eventType": "Delivery", "mail": {\n')
        for _ in range(count - count // 2):
            stream.write(line)
    assert path.stat().st_size > jsoninput.MAX_JSON_BYTES

    events, rejected = parse_file("ses", path)

    assert events == count
    assert len(rejected) == 1
    assert rejected[0].error.line == count // 2 + 1


def test_line_over_limit_rejected_alone(monkeypatch):
    monkeypatch.setattr(esp_body, "MAX_JSON_BYTES", 2000)
    long_line = ses_line("msg-2", padding=3000)
    body = ses_line("msg-1") + long_line + ses_line("msg-3")
    events, rejected = run_parser(get_parser("ses"), body)

    assert [event.message_id for event in events] == ["msg-1", "msg-3"]
    assert len(rejected) == 1
    assert rejected[0].error.line == 2
    assert rejected[0].error.offset == len(ses_line("msg-1"))
    assert "line of %d bytes is larger than 2000 bytes" % len(long_line) in rejected[0].error.message


def test_single_document_over_limit_raises(monkeypatch):
    monkeypatch.setattr(esp_body, "MAX_JSON_BYTES", 2000)
    document = [json.loads(ses_line("msg-%d" % number)) for number in range(10)]
    body = json.dumps(document, indent=2).encode()
    assert len(body) > 2000

    with pytest.raises(ParseError) as caught:
        list(get_parser("ses").parse(io.BytesIO(body), ParseContext(source="big.json")))
    assert "JSON document larger than 2000 bytes" in caught.value.message
    assert "JSON Lines" in caught.value.message
