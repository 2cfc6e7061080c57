"""The HTML report over a real store, and its SVG charts."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from aiosmtpd.controller import Controller
from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.config.loader import validate_config
from inboxwatch.service.report_page import PERIODS, render_report
from inboxwatch.service.svg_chart import Series, line_chart, segments
from inboxwatch.store.db import open_engine
from inboxwatch.store.schema import rollups, rollups_hourly
from notify_support import free_port

END = datetime(2026, 3, 5, tzinfo=timezone.utc)


def insert_rollups(conn, rows: list[dict]) -> None:
    # Every bucket here is on the hour, so the same rows are also the hourly rollups.
    conn.execute(rollups.insert(), rows)
    conn.execute(rollups_hourly.insert(), rows)


def rollup(time: datetime, provider: str, sent: int, bounced: int, complained: int) -> dict:
    counts = {name: 0 for name in ("deferred", "hard_bounced", "opened", "clicked", "unsubscribed", "dropped")}
    return {
        "bucket": time,
        "tenant": "default",
        "provider": provider,
        "sending_ip": "203.0.113.10",
        "sending_domain": "shop.example",
        "campaign": "",
        "sent": sent,
        "delivered": sent - bounced,
        "bounced": bounced,
        "complained": complained,
        **counts,
    }


def test_segments_nan_is_gap():
    points = [(END, 0.1), (END, math.nan), (END, 0.2), (END, None), (END, 0.3), (END, 0.4)]
    assert [len(run) for run in segments(points)] == [1, 1, 2]


def test_line_chart_escapes_names():
    svg = line_chart([Series("<gmail>", [(END - timedelta(hours=1), 0.01), (END, 0.02)])], start=END - timedelta(hours=2), end=END)
    assert svg.startswith("<svg")
    assert "&lt;gmail&gt;" in svg
    assert "<polyline" in svg


def test_report_daily_with_mail(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    rows = [rollup(END - timedelta(hours=hour), "gmail", 500, 5 + hour % 4, 1) for hour in range(1, 24)]
    with engine.begin() as conn:
        insert_rollups(conn, rows)
    with engine.connect() as conn:
        page = render_report(conn, validate_config({}, source="test"), PERIODS["daily"], END)
    engine.dispose()
    assert page.count("<svg") == 3
    assert "Gmail" in page
    assert "Overall grade: " in page
    assert "No reputation feed data stored" in page
    assert "No blocklist check stored" in page


def test_report_without_complaint_source(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    rows = [rollup(END - timedelta(hours=hour), "gmail", 500, 5, 0) for hour in range(1, 24)]
    with engine.begin() as conn:
        insert_rollups(conn, rows)
    with engine.connect() as conn:
        page = render_report(conn, validate_config({}, source="test"), PERIODS["daily"], END)
    engine.dispose()
    assert page.count("<svg") == 2
    assert "No complaint data: no feedback loop or ESP source exists for this period" in page
    assert "<td>no data</td>" in page
    assert "Overall grade: A (based on delivery rate and bounce rate only; no complaint data" in page


def test_report_command_empty_store(tmp_path):
    output = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["report", "html", "--store", "sqlite:///%s" % (tmp_path / "store.db"), "--period", "weekly", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    page = output.read_text()
    assert "inboxwatch weekly report" in page
    assert "No mail stored in this period." in page
    assert "No mail to grade." in page


class StoringHandler:
    """An aiosmtpd handler that keeps every accepted message."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def test_report_mailed_through_email_channel(tmp_path):
    handler = StoringHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = tmp_path / "inboxwatch.toml"
        config.write_text(
            '[store]\nurl = "sqlite:///%s"\n\n[[channels]]\nname = "reports"\ntype = "email"\nhost = "127.0.0.1"\nport = %d\n'
            'starttls = false\nfrom_address = "inboxwatch@shop.example"\nto = ["postmaster@shop.example"]\n'
            % (tmp_path / "store.db", controller.port)
        )
        result = CliRunner().invoke(cli, ["report", "html", "--config", str(config), "--email", "reports"])
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert "report mailed through channel reports" in result.output
    (envelope,) = handler.messages
    assert envelope.rcpt_tos == ["postmaster@shop.example"]
    assert b"inboxwatch daily report" in envelope.content


def test_report_unknown_channel_rejected(tmp_path):
    result = CliRunner().invoke(cli, ["report", "html", "--store", "sqlite:///%s" % (tmp_path / "store.db"), "--email", "nowhere"])
    assert result.exit_code == 2
    assert "no channel named 'nowhere'" in result.output
