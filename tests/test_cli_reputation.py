"""`inboxwatch reputation status` and `fetch` against a scripted SNDS server on 127.0.0.1."""

from __future__ import annotations

import json

from click.testing import CliRunner

from inboxwatch.cli.main import cli
from reputation_support import ScriptedServer, json_response, text_response

SNDS_DATA = "203.0.113.10,3/2/2026 8:00 AM,3/3/2026 8:00 AM,5200,5100,5150,RED,1.2%,,,0,,,\n"


def write_config(tmp_path, snds_base: str) -> str:
    path = tmp_path / "inboxwatch.toml"
    path.write_text(
        '[store]\nurl = "sqlite:///%s"\n\n[reputation]\nattempts = 1\n\n[reputation.snds]\nkey = "test-key-0123456789"\nbase_url = "%s"\n'
        % (tmp_path / "store.db", snds_base)
    )
    return str(path)


def test_reputation_status_unconfigured(tmp_path):
    result = CliRunner().invoke(cli, ["reputation", "status", "--store", "sqlite:///%s" % (tmp_path / "store.db")])
    assert result.exit_code == 0, result.output
    assert "Microsoft SNDS: not configured" in result.output
    assert "Google Postmaster Tools: not configured" in result.output
    assert "Validity Sender Score: not configured" in result.output


def test_reputation_fetch_then_status(tmp_path):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, SNDS_DATA))
        server.add("/snds/ipStatus.aspx", text_response(200, ""))
        config = write_config(tmp_path, server.url + "/snds")
        fetched = CliRunner().invoke(cli, ["reputation", "fetch", "--config", config])
    status = CliRunner().invoke(cli, ["reputation", "status", "--config", config])
    assert fetched.exit_code == 0, fetched.output
    assert "Microsoft SNDS: fetched, 1 row stored" in fetched.output
    assert "Microsoft SNDS: reachable; last fetch" in status.output
    assert "filter RED  complaints 1.2%" in status.output
    assert "IP status at" in status.output


def test_reputation_unreachable_feed_reported(tmp_path):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(503, "maintenance"))
        config = write_config(tmp_path, server.url + "/snds")
        fetched = CliRunner().invoke(cli, ["reputation", "fetch", "--config", config])
    status = CliRunner().invoke(cli, ["reputation", "status", "--config", config])
    assert fetched.exit_code == 1
    assert "FAILED: SNDS data export failed: HTTP 503" in fetched.output
    assert "Microsoft SNDS: FAILED; last attempt" in status.output
    assert "last success never" in status.output
    assert "test-key-0123456789" not in status.output + fetched.output


def test_reputation_fetch_html_page_fails(tmp_path):
    blocked = "203.0.113.10,203.0.113.10,Yes,Blocked due to user complaints\n"
    page = "<html><body>Service unavailable</body></html>"
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, SNDS_DATA), text_response(200, page))
        server.add("/snds/ipStatus.aspx", text_response(200, blocked))
        config = write_config(tmp_path, server.url + "/snds")
        first = CliRunner().invoke(cli, ["reputation", "fetch", "--config", config])
        second = CliRunner().invoke(cli, ["reputation", "fetch", "--config", config])
    status = CliRunner().invoke(cli, ["reputation", "status", "--config", config])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 1
    assert "FAILED: SNDS data export failed: the server returned an HTML page" in second.output
    assert "203.0.113.10-203.0.113.10 blocked" in status.output
    assert "nothing blocked" not in status.output


def test_reputation_status_lists_unknown_fields(tmp_path):
    export = {
        "domainStats": [
            {"name": "domains/shop.example/domainStats/1", "metric": "spam_rate", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"doubleValue": 0.001}, "confidence": "HIGH"},
            {"name": "domains/shop.example/domainStats/2", "metric": "FEEDBACK_LOOP_SPAM_RATE", "date": {"year": 2026, "month": 3, "day": 2}, "value": {"doubleValue": 0.2}},
        ]
    }
    path = tmp_path / "postmaster.json"
    path.write_text(json.dumps(export))
    store = "sqlite:///%s" % (tmp_path / "store.db")
    ingested = CliRunner().invoke(cli, ["ingest", "--store", store, str(path)])
    status = CliRunner().invoke(cli, ["reputation", "status", "--store", store])
    assert ingested.exit_code == 0, ingested.output
    assert status.exit_code == 0, status.output
    assert "shop.example 2026-03-02  spam 0.10%" in status.output
    assert "fields not read by this version of inboxwatch, so no value is taken from them: domainStats.confidence, metric:FEEDBACK_LOOP_SPAM_RATE" in status.output


def test_reputation_status_ip_status_not_blocked(tmp_path):
    path = tmp_path / "status.csv"
    path.write_text("203.0.113.10,203.0.113.10,No,\n203.0.113.12,203.0.113.13,Yes,Blocked due to user complaints\n")
    store = "sqlite:///%s" % (tmp_path / "store.db")
    CliRunner().invoke(cli, ["ingest", "--store", store, str(path)])
    status = CliRunner().invoke(cli, ["reputation", "status", "--store", store])
    assert "203.0.113.10-203.0.113.10 not blocked, 203.0.113.12-203.0.113.13 blocked" in status.output


def test_postmaster_v2_failure_exits_1(tmp_path):
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "token", "expires_in": 3600}))
        server.add("/v2/domains/shop.example/domainStats:query", json_response(401, {"error": "invalid credentials"}))
        server.add("/v2/domains/shop.example/complianceStatus", json_response(500, {}))
        path = tmp_path / "inboxwatch.toml"
        path.write_text(
            '[store]\nurl = "sqlite:///%s"\n\n[reputation]\nattempts = 1\n\n[reputation.postmaster]\ndomains = ["shop.example"]\n'
            'client_id = "cid"\nclient_secret = "secret-5678"\nrefresh_token = "refresh-1234"\nbase_url = "%s"\ntoken_url = "%s/token"\ntraffic_stats_v1 = false\n'
            % (tmp_path / "store.db", server.url, server.url)
        )
        fetched = CliRunner().invoke(cli, ["reputation", "fetch", "--feed", "postmaster", "--config", str(path)])
    status = CliRunner().invoke(cli, ["reputation", "status", "--config", str(path)])
    assert fetched.exit_code == 1, fetched.output
    assert "Google Postmaster Tools: FAILED: Postmaster domain stats for shop.example failed: HTTP 401" in fetched.output
    assert "Google Postmaster Tools: FAILED; last attempt" in status.output
    assert "shop.example compliance: FAILED at" in status.output
    assert "Postmaster compliance status for shop.example failed: HTTP 500" in status.output
