"""The HTML report over a real store, and its SVG charts."""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import date, datetime, timedelta, timezone

from aiosmtpd.controller import Controller
from click.testing import CliRunner

from inboxwatch.cli.main import cli
from inboxwatch.config.loader import validate_config
from inboxwatch.model.alerts import Alert, AlertState, Severity
from inboxwatch.model.reputation import PostmasterDayRecord, SndsDataRecord, SndsFilterResult, SndsIpStatusRecord
from inboxwatch.service.report_page import PERIODS, render_report
from inboxwatch.service.svg_chart import HEIGHT, WIDTH, Marker, Series, legend_layout, line_chart, segments
from inboxwatch.store.alerts import save_alert
from inboxwatch.store.db import open_engine
from inboxwatch.store.dns_checks import insert_check_results, save_listing
from inboxwatch.store.reputation import record_feed_attempt, store_postmaster, store_snds_data, store_snds_status
from inboxwatch.store.schema import rollups, rollups_hourly, rollups_quarter_hour
from notify_support import free_port

END = datetime(2026, 3, 5, tzinfo=timezone.utc)


def insert_rollups(conn, rows: list[dict]) -> None:
    # Every bucket here is on the hour, so the same rows are also the 15-minute and hourly rollups.
    conn.execute(rollups.insert(), rows)
    conn.execute(rollups_quarter_hour.insert(), rows)
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
    assert page.count("<svg") == 4
    assert "<h3>Delivery rate</h3>" in page
    assert "Gmail" in page
    assert "Overall grade: " in page
    assert "No reputation feed data stored" in page
    assert "No blocklist check stored" in page
    assert "No authentication check stored" in page


def test_report_without_complaint_source(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    rows = [rollup(END - timedelta(hours=hour), "gmail", 500, 5, 0) for hour in range(1, 24)]
    with engine.begin() as conn:
        insert_rollups(conn, rows)
    with engine.connect() as conn:
        page = render_report(conn, validate_config({}, source="test"), PERIODS["daily"], END)
    engine.dispose()
    assert page.count("<svg") == 3
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


def report_for(tmp_path, store_rows=None, period: str = "daily") -> str:
    """Render the report at END over a store filled by `store_rows(conn)`."""
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    if store_rows is not None:
        with engine.begin() as conn:
            store_rows(conn)
    with engine.connect() as conn:
        page = render_report(conn, validate_config({}, source="test"), PERIODS[period], END)
    engine.dispose()
    return page


def alert(rule: str, started: datetime, fired: datetime | None, resolved: datetime | None, summary: str) -> Alert:
    state = AlertState.PENDING
    if fired is not None:
        state = AlertState.FIRING
    if resolved is not None:
        state = AlertState.RESOLVED
    return Alert(
        id=None,
        fingerprint=rule + summary,
        rule=rule,
        tenant="default",
        labels={"provider": "gmail"},
        severity=Severity.WARNING,
        state=state,
        pending_since=started,
        last_evaluated_at=END,
        summary=summary,
        fired_at=fired,
        resolved_at=resolved,
    )


def row_of(page: str, text: str) -> str:
    """Return the table row of the page that contains `text`."""
    start = page.rindex("<tr", 0, page.index(text))
    return page[start : page.index("</tr>", start)]


def test_report_lists_alerts_firing_from_before(tmp_path):
    def store_rows(conn):
        save_alert(conn, alert("bounce_rate", END - timedelta(hours=2), END - timedelta(hours=1), None, "new in the period"))
        save_alert(conn, alert("bounce_rate", END - timedelta(days=3), END - timedelta(days=3), None, "firing for days"))
        save_alert(conn, alert("deferral_rate", END - timedelta(days=2), END - timedelta(days=2), END - timedelta(hours=5), "resolved in the period"))
        save_alert(conn, alert("deferral_rate", END - timedelta(days=4), END - timedelta(days=4), END - timedelta(days=2), "resolved before"))
        save_alert(conn, alert("delivery_rate", END - timedelta(days=4), None, None, "never fired"))

    page = report_for(tmp_path, store_rows)
    assert "started in the period" in row_of(page, "new in the period")
    assert "started before the period, still firing at its end" in row_of(page, "firing for days")
    assert "started before the period, firing until 2026-03-04 19:00" in row_of(page, "resolved in the period")
    assert 'class="earlier"' in row_of(page, "firing for days")
    assert "resolved before" not in page
    assert "never fired" not in page


def test_report_without_alerts_says_so(tmp_path):
    assert "No alert started or was firing in this period." in report_for(tmp_path)


def test_report_snds_ip_status_absent(tmp_path):
    page = report_for(tmp_path)
    assert "No SNDS IP status stored." in page


def test_report_snds_ip_status_shown(tmp_path):
    def store_rows(conn):
        record = SndsIpStatusRecord("203.0.113.10", "203.0.113.11", True, "Blocked due to user complaints or other evidence of spamming")
        store_snds_status(conn, [record], tenant="default", snapshot_at=END - timedelta(hours=3))

    page = report_for(tmp_path, store_rows)
    assert "No SNDS IP status stored" not in page
    assert "IP status as of 2026-03-04 21:00: 1 range listed." in page
    row = row_of(page, "Blocked due to user complaints")
    assert "<td>203.0.113.10</td><td>203.0.113.11</td><td>yes</td>" in row


def test_report_snds_empty_snapshot_nothing_blocked(tmp_path):
    def store_rows(conn):
        record_feed_attempt(conn, tenant="default", feed="snds", at=END - timedelta(hours=1), error=None)

    page = report_for(tmp_path, store_rows)
    assert "IP status as of 2026-03-04 23:00: no IP range is blocked." in page


def snds_row(ip: str, period_end: datetime) -> SndsDataRecord:
    return SndsDataRecord(
        ip=ip,
        activity_start=period_end - timedelta(days=1),
        activity_end=period_end,
        rcpt_commands=100,
        data_commands=100,
        recipients=100,
        filter_result=SndsFilterResult.GREEN,
        complaint_rate_text="< 0.1%",
        complaint_rate=None,
        complaint_rate_below=0.001,
        trap_start=None,
        trap_end=None,
        trap_hits=0,
    )


def test_report_marks_stale_reputation_rows(tmp_path):
    def store_rows(conn):
        rows = [snds_row("203.0.113.10", END - timedelta(days=10)), snds_row("203.0.113.11", END - timedelta(days=1, hours=16))]
        store_snds_data(conn, rows, tenant="default", now=END)
        days = [PostmasterDayRecord("old.example", date(2026, 2, 20), "v1", spam_rate=0.001), PostmasterDayRecord("shop.example", date(2026, 3, 3), "v1", spam_rate=0.002)]
        store_postmaster(conn, days, tenant="default", now=END)

    page = report_for(tmp_path, store_rows)
    old_snds = row_of(page, "203.0.113.10")
    assert 'class="stale"' in old_snds
    assert "stale: from 2026-02-23 00:00" in old_snds
    assert "stale" not in row_of(page, "203.0.113.11")
    assert "stale: from 2026-02-20" in row_of(page, "old.example")
    assert "stale" not in row_of(page, "shop.example")


def test_report_provider_display_names(tmp_path):
    def store_rows(conn):
        rows = [rollup(END - timedelta(hours=hour), provider, 600, 6, 0) for hour in range(1, 6) for provider in ("gmail", "gmx", "mailru")]
        insert_rollups(conn, rows)

    page = report_for(tmp_path, store_rows)
    for name in ("Gmail", "GMX", "Mail.ru"):
        assert "<td>%s</td>" % name in page
        assert ">%s</text>" % name in page
    assert ">gmx<" not in page
    assert ">mailru<" not in page


def test_report_daily_recommendation_singular_day(tmp_path):
    def store_rows(conn):
        insert_rollups(conn, [rollup(END - timedelta(hours=hour), "gmail", 500, 60, 0) for hour in range(1, 24)])

    page = report_for(tmp_path, store_rows)
    assert "Gmail bounce rate 12% over 1 day (" in page
    assert "1 days" not in page


def test_legend_wraps_long_names():
    names = ["provider number %d with a rather long display name" % index for index in range(12)] + ["x" * 300]
    entries = legend_layout(names, 652)
    assert len(entries) == len(names)
    assert max(entry.row for entry in entries) >= 4
    for entry in entries:
        assert entry.x + entry.width <= 652
    assert entries[-1].label.endswith("\u2026")


def test_line_chart_grows_for_legend():
    points = [(END - timedelta(hours=1), 0.01), (END, 0.02)]
    series = [Series("series %d with a long name" % index, points) for index in range(16)]
    svg = line_chart(series, start=END - timedelta(hours=2), end=END)
    height = int(re.search(r'height="(\d+)"', svg).group(1))
    legend_ys = [float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)" font-size="10" fill=', svg)]
    assert height > HEIGHT
    assert 'viewBox="0 0 %d %d"' % (WIDTH, height) in svg
    assert len(legend_ys) == 16
    assert max(legend_ys) < height
    assert svg.count("<title>series 15 with a long name</title>") == 1


def test_report_postmaster_history_stale_before_period(tmp_path):
    def store_rows(conn):
        days = [PostmasterDayRecord("shop.example", date(2026, 3, day), "v1", spam_rate=0.001) for day in (1, 3)]
        days.append(PostmasterDayRecord("shop.example", date(2026, 2, 24), "v1", spam_rate=0.001))
        store_postmaster(conn, days, tenant="default", now=END)

    page = report_for(tmp_path, store_rows, period="weekly")
    assert "stale" not in row_of(page, "<td>2026-03-03</td>")
    assert "stale" not in row_of(page, "<td>2026-03-01</td>")
    assert "stale: from 2026-02-24" in row_of(page, "<td>2026-02-24</td>")


def rate_alert(rule: str, metric: str, severity: Severity, started: datetime, summary: str) -> Alert:
    return dataclasses.replace(
        alert(rule, started, started, None, summary), severity=severity, annotations={"metric": metric}, last_evaluated_at=started
    )


def chart_of(page: str, title: str) -> str:
    start = page.index("<h3>%s</h3>" % title)
    return page[start : page.index("</svg>", start)]


def test_report_markers_per_chart_metric(tmp_path):
    def store_rows(conn):
        insert_rollups(conn, [rollup(END - timedelta(hours=hour), "gmail", 500, 5, 1) for hour in range(1, 24)])
        save_alert(conn, rate_alert("bounce_rate", "bounce_rate", Severity.CRITICAL, END - timedelta(hours=10), "bounce critical"))
        save_alert(conn, rate_alert("hard_bounce_rate", "hard_bounce_rate", Severity.WARNING, END - timedelta(hours=5), "hard bounce warning"))
        save_alert(conn, rate_alert("deferral_rate", "deferral_rate", Severity.WARNING, END - timedelta(hours=3), "deferral warning"))
        save_alert(conn, rate_alert("dns_blocklist_listed", "", Severity.CRITICAL, END - timedelta(hours=2), "listed on a list"))

    page = report_for(tmp_path, store_rows)
    bounce = chart_of(page, "Bounce rate")
    deferral = chart_of(page, "Deferral rate")
    delivery = chart_of(page, "Delivery rate")
    assert bounce.count('class="alert-marker"') == 2
    assert "bounce critical" in bounce
    assert "hard bounce warning" in bounce
    assert "deferral warning" not in bounce
    assert deferral.count('class="alert-marker"') == 1
    assert "deferral warning" in deferral
    assert 'class="alert-marker"' not in delivery
    assert "listed on a list" not in bounce + deferral + delivery
    assert 'data-severity="critical"' in bounce
    assert 'data-severity="warning"' in deferral


def test_report_overlapping_markers_merged(tmp_path):
    def store_rows(conn):
        insert_rollups(conn, [rollup(END - timedelta(hours=hour), "gmail", 500, 5, 1) for hour in range(1, 24)])
        for minute in range(3):
            save_alert(conn, rate_alert("bounce_rate", "bounce_rate", Severity.WARNING, END - timedelta(minutes=10 + minute), "bounce %d" % minute))
        save_alert(conn, rate_alert("bounce_rate", "bounce_rate", Severity.CRITICAL, END - timedelta(minutes=11, seconds=30), "bounce critical"))

    bounce = chart_of(report_for(tmp_path, store_rows), "Bounce rate")
    assert bounce.count('class="alert-marker"') == 1
    assert 'data-count="4"' in bounce
    assert 'data-severity="critical"' in bounce
    assert "4 alerts:" in bounce


def test_line_chart_distinct_markers_kept():
    markers = [Marker(END - timedelta(hours=2), "first", "info"), Marker(END - timedelta(hours=1), "second", "critical")]
    svg = line_chart([Series("Gmail", [(END - timedelta(hours=2), 0.01), (END, 0.02)])], start=END - timedelta(hours=3), end=END, markers=markers)
    assert svg.count('class="alert-marker"') == 2
    assert 'data-count="1" data-severity="info"' in svg
    assert 'data-count="1" data-severity="critical"' in svg


def test_report_includes_alert_of_current_minute(tmp_path):
    generated = END + timedelta(seconds=45)

    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    with engine.begin() as conn:
        save_alert(conn, rate_alert("bounce_rate", "bounce_rate", Severity.WARNING, END + timedelta(seconds=21), "fired this minute"))
    with engine.connect() as conn:
        page = render_report(conn, validate_config({}, source="test"), PERIODS["daily"], generated)
    engine.dispose()
    assert "fired this minute" in page
    assert "Alerts are included up to 2026-03-05 00:00:45." in page


def test_report_listing_since_formatted(tmp_path):
    def store_rows(conn):
        episode = {
            "asset": "192.0.2.10",
            "list_name": "bl.test",
            "first_detected_at": END - timedelta(hours=2, seconds=38, microseconds=702928),
            "last_checked_at": END - timedelta(hours=1),
            "delisted_at": None,
            "confirmations": 2,
            "codes": ["127.0.0.2"],
            "meaning": "listed",
        }
        save_listing(conn, "default", episode)

    row = row_of(report_for(tmp_path, store_rows), "bl.test")
    assert "<td>2026-03-04 21:59</td>" in row


def auth_detail(spf_status: str) -> dict:
    return {
        "report": {
            "domain": "shop.example",
            "spf": {"status": spf_status, "record": None, "problems": ["shop.example publishes no SPF record"] if spf_status == "missing" else []},
            "dkim": {"status": "ok", "record": None, "problems": []},
            "dmarc": {"status": "warning", "record": "v=DMARC1; p=none", "problems": ["policy is none"]},
        },
        "state": {},
    }


def test_report_authentication_section(tmp_path):
    def store_rows(conn):
        insert_check_results(conn, "default", END - timedelta(days=3), "auth", [{"subject": "old.example", "check_name": "domain", "status": "ok", "detail": auth_detail("ok")}])
        insert_check_results(conn, "default", END - timedelta(hours=5), "auth", [{"subject": "shop.example", "check_name": "domain", "status": "ok", "detail": auth_detail("ok")}])
        insert_check_results(conn, "default", END - timedelta(hours=1), "auth", [{"subject": "shop.example", "check_name": "domain", "status": "missing", "detail": auth_detail("missing")}])
        # Checked after the period's end, so not shown.
        insert_check_results(conn, "default", END + timedelta(hours=1), "auth", [{"subject": "shop.example", "check_name": "domain", "status": "ok", "detail": auth_detail("ok")}])

    page = report_for(tmp_path, store_rows)
    section = page[page.index("<h2>Authentication</h2>") : page.index("<h2>Blocklists</h2>")]
    spf = row_of(section, "shop.example publishes no SPF record")
    assert "<td>shop.example</td><td>SPF</td><td>missing</td><td>2026-03-04 23:00</td>" in spf
    assert "stale" not in spf
    assert "policy is none" in row_of(section, "policy is none")
    old = row_of(section, "old.example")
    assert 'class="stale"' in old
    assert "stale: from 2026-03-02 00:00" in old
    assert section.count("<td>shop.example</td>") == 3


def test_report_failed_compliance_fetch_shown(tmp_path):
    def store_rows(conn):
        record_feed_attempt(conn, tenant="default", feed="postmaster-compliance:shop.example", at=END - timedelta(hours=3), error=None, detail={"SPF": "COMPLIANT"})
        record_feed_attempt(conn, tenant="default", feed="postmaster-compliance:shop.example", at=END - timedelta(hours=1), error="Postmaster compliance status for shop.example failed: HTTP 500")

    page = report_for(tmp_path, store_rows)
    line = page[page.rindex("<p", 0, page.index("compliance for shop.example")) : page.index("</p>", page.index("compliance for shop.example"))]
    assert "reachable" not in line
    assert "last fetch FAILED at 2026-03-04 23:00: Postmaster compliance status for shop.example failed: HTTP 500; last success 2026-03-04 21:00" in line
    assert 'class="failed"' in line


def test_report_clear_blocklist_check_not_absent(tmp_path):
    def store_rows(conn):
        insert_check_results(conn, "default", END - timedelta(hours=1), "blocklist", [{"subject": "192.0.2.10", "check_name": "bl.test", "status": "clear", "detail": {}}])

    page = report_for(tmp_path, store_rows)
    assert "No blocklist check stored" not in page
    assert "No asset is listed." in page
