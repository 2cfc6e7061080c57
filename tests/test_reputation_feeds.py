"""Reputation feeds fetched from servers the tests start on 127.0.0.1: HTTP for SNDS and Postmaster Tools, DNS for Sender Score."""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import datetime, timezone
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from dnsserver import DnsServer, ZoneData
from inboxwatch.config.loader import validate_config
from inboxwatch.dnscheck.resolver import Nameserver, Resolver
from inboxwatch.model.alerts import Severity
from inboxwatch.service import reputation_records
from inboxwatch.service.reputation import fetch_reputation, reputation_signals, run_reputation_loop
from inboxwatch.store.db import open_engine
from inboxwatch.store.reputation import feed_states
from inboxwatch.store.schema import postmaster_stats, sender_scores, snds_data, snds_ip_status
from reputation_support import ScriptedServer, json_response, text_response

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)
SNDS_KEY = "0123456789abcdef-snds-key"
REFRESH_TOKEN = "refresh-token-value-1234"
CLIENT_SECRET = "client-secret-value-5678"

SNDS_DATA = (
    "203.0.113.10,3/2/2026 8:00 AM,3/3/2026 8:00 AM,5200,5100,5150,YELLOW,0.3%,3/2/2026 9:15 PM,3/2/2026 11:40 PM,2,mta1.shop.example,bounce@shop.example,\n"
)
SNDS_STATUS = "203.0.113.10,203.0.113.10,Yes,Blocked due to user complaints or other evidence of spamming\n"

V2_PAGE = {
    "domainStats": [
        {"name": "domains/shop.example/domainStats/1", "metric": "spam_rate", "date": {"year": 2026, "month": 3, "day": 3}, "value": {"doubleValue": 0.0035}},
        {"name": "domains/shop.example/domainStats/2", "metric": "dkim_success_rate", "date": {"year": 2026, "month": 3, "day": 3}, "value": {"doubleValue": 0.95}},
    ]
}
V1_PAGE = {
    "trafficStats": [
        {"name": "domains/shop.example/trafficStats/20260303", "domainReputation": "LOW"},
        {"name": "domains/shop.example/trafficStats/20260302", "domainReputation": "HIGH"},
    ]
}
# The DomainComplianceStatus shape of the v2 reference of domains.getComplianceStatus.
COMPLIANCE = {
    "name": "domains/shop.example/complianceStatus",
    "complianceData": {
        "domainId": "shop.example",
        "rowData": [
            {"requirement": "SPF_AND_DKIM", "status": {"status": "COMPLIANT"}},
            {"requirement": "USER_REPORTED_SPAM_RATE", "status": {"status": "NEEDS_WORK"}},
        ],
        "oneClickUnsubscribeVerdict": {"status": {"status": "NEEDS_WORK"}, "reason": "NO_UNSUB_GENERAL"},
        "honorUnsubscribeVerdict": {"status": {"status": "COMPLIANT"}},
    },
}


@pytest.fixture
def engine(tmp_path):
    engine = open_engine("sqlite:///%s" % (tmp_path / "store.db"))
    yield engine
    engine.dispose()


def no_sleep(seconds: float) -> None:
    pass


def config_for(reputation: dict):
    return validate_config({"reputation": {"attempts": 3, **reputation}}, source="test")


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_snds_fetch_stores_exports(engine, caplog):
    caplog.set_level(logging.DEBUG)
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, SNDS_DATA))
        server.add("/snds/ipStatus.aspx", text_response(200, SNDS_STATUS))
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert result.error is None
    assert server.requests[0].query == {"key": [SNDS_KEY]}
    assert count(engine, snds_data) == 1
    assert count(engine, snds_ip_status) == 1
    assert SNDS_KEY not in caplog.text


def test_snds_server_error_retried(engine):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(503, "busy"), text_response(200, SNDS_DATA))
        server.add("/snds/ipStatus.aspx", text_response(200, ""))
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert result.error is None
    assert server.paths().count("/snds/data.aspx") == 2


def test_snds_forbidden_key_fails_clearly(engine, caplog):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(403, "key %s not valid" % SNDS_KEY))
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert "SNDS data export failed: HTTP 403" in result.error
    assert SNDS_KEY not in result.error
    assert SNDS_KEY not in caplog.text
    assert server.paths() == ["/snds/data.aspx"]
    with engine.connect() as conn:
        state = feed_states(conn, "default")["snds"]
    assert state.status == "failed"
    assert state.last_success_at is None


def test_snds_retries_exhausted_fails(engine):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(500, "down"))
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert "HTTP 500" in result.error
    assert server.paths().count("/snds/data.aspx") == 3
    assert count(engine, snds_data) == 0


HTML_PAGE = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in to SNDS</body></html>\n"


def blocked_snapshot(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(snds_ip_status.c.first_ip, snds_ip_status.c.snapshot_at)).all()


@pytest.mark.parametrize(
    "data, status",
    [
        (text_response(200, HTML_PAGE, **{"Content-Type": "text/html; charset=utf-8"}), text_response(200, SNDS_STATUS)),
        (text_response(200, HTML_PAGE), text_response(200, SNDS_STATUS)),
        (text_response(200, "not,an,snds,export\nat,all\n"), text_response(200, SNDS_STATUS)),
        (text_response(200, SNDS_DATA), text_response(200, HTML_PAGE, **{"Content-Type": "text/html"})),
        (text_response(200, SNDS_DATA), text_response(200, "203.0.113.10,203.0.113.10\n")),
    ],
    ids=["html-data", "html-body-text-type", "unreadable-data", "html-status", "invalid-status-row"],
)
def test_snds_unreadable_export_keeps_snapshot(engine, data, status):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, SNDS_DATA))
        server.add("/snds/ipStatus.aspx", text_response(200, SNDS_STATUS))
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        fetch_reputation(engine, config, NOW, sleep=no_sleep)
    before = blocked_snapshot(engine)
    later = NOW.replace(hour=13)
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", data)
        server.add("/snds/ipStatus.aspx", status)
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        (result,) = fetch_reputation(engine, config, later, sleep=no_sleep)
    assert result.error is not None
    assert result.error.startswith("SNDS")
    assert result.stored == 0
    assert count(engine, snds_data) == 1
    assert blocked_snapshot(engine) == before
    with engine.connect() as conn:
        state = feed_states(conn, "default")["snds"]
        signals = [signal for signal in reputation_signals(conn, config, later) if signal.rule == "snds_blocked"]
    assert state.status == "failed"
    assert state.last_success_at == NOW
    assert len(signals) == 1
    assert signals[0].severity is Severity.CRITICAL


def test_snds_html_page_message(engine):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, HTML_PAGE, **{"Content-Type": "text/html"}))
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert "SNDS data export failed: the server returned an HTML page (Content-Type text/html)" in result.error
    assert server.paths() == ["/snds/data.aspx"]


def postmaster_routes(server: ScriptedServer) -> None:
    server.add("/v2/domains/shop.example/domainStats:query", json_response(200, V2_PAGE))
    server.add("/v2/domains/shop.example/complianceStatus", json_response(200, COMPLIANCE))
    server.add("/v1/domains/shop.example/trafficStats", json_response(200, V1_PAGE))


def user_credentials(server: ScriptedServer) -> dict:
    return {
        "domains": ["shop.example"],
        "base_url": server.url,
        "token_url": server.url + "/token",
        "client_id": "inboxwatch-test",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }


def test_postmaster_refresh_token_fetch(engine, caplog):
    caplog.set_level(logging.DEBUG)
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "access-one", "expires_in": 3600}))
        postmaster_routes(server)
        config = config_for({"postmaster": user_credentials(server)})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert result.error is None
    token_form = parse_qs(server.requests[0].body.decode())
    assert token_form["grant_type"] == ["refresh_token"]
    assert server.requests[1].headers["Authorization"] == "Bearer access-one"
    query = json.loads(server.requests[1].body)
    assert {item["name"] for item in query["metricDefinitions"]} >= {"spam_rate", "dkim_success_rate"}
    filters = {item["baseMetric"]["standardMetric"] + ":" + item["name"]: item.get("filter") for item in query["metricDefinitions"]}
    assert filters["TLS_ENCRYPTION_RATE:tls_rate"] == 'traffic_direction = "inbound"'
    assert filters["AUTH_SUCCESS_RATE:spf_success_rate"] == 'auth_type = "spf"'
    assert query["pageSize"] == 200
    with engine.connect() as conn:
        rows = conn.execute(sa.select(postmaster_stats).order_by(postmaster_stats.c.day)).mappings().all()
    assert [row["domain_reputation"] for row in rows] == ["HIGH", "LOW"]
    assert rows[1]["spam_rate"] == pytest.approx(0.0035)
    assert REFRESH_TOKEN not in caplog.text
    assert CLIENT_SECRET not in caplog.text


def test_postmaster_expired_token_renewed(engine):
    with ScriptedServer() as server:
        server.add(
            "/token",
            json_response(200, {"access_token": "stale", "expires_in": 3600}),
            json_response(200, {"access_token": "fresh", "expires_in": 3600}),
        )
        server.add("/v2/domains/shop.example/domainStats:query", json_response(401, {"error": "expired"}), json_response(200, V2_PAGE))
        server.add("/v2/domains/shop.example/complianceStatus", json_response(200, COMPLIANCE))
        config = config_for({"postmaster": {**user_credentials(server), "traffic_stats_v1": False}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert result.error is None
    assert server.paths().count("/token") == 2
    query_requests = [request for request in server.requests if request.path.endswith("domainStats:query")]
    assert [request.headers["Authorization"] for request in query_requests] == ["Bearer stale", "Bearer fresh"]


def test_postmaster_rate_limited_then_served(engine):
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "token", "expires_in": 3600}))
        server.add("/v2/domains/shop.example/domainStats:query", json_response(429, {}, **{"Retry-After": "1"}), json_response(200, V2_PAGE))
        server.add("/v2/domains/shop.example/complianceStatus", json_response(200, COMPLIANCE))
        config = config_for({"postmaster": {**user_credentials(server), "traffic_stats_v1": False}})
        waits: list[float] = []
        (result,) = fetch_reputation(engine, config, NOW, sleep=waits.append)
    assert result.error is None
    assert waits == [1.0]
    assert count(engine, postmaster_stats) == 1


def test_postmaster_token_endpoint_down_fails(engine):
    with ScriptedServer() as server:
        server.add("/token", json_response(503, {}))
        config = config_for({"postmaster": user_credentials(server)})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    assert "OAuth token request failed: HTTP 503" in result.error
    assert count(engine, postmaster_stats) == 0


def test_postmaster_service_account_assertion_signed(engine, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({"client_email": "watcher@project.iam.example", "private_key": pem, "private_key_id": "k1"}))
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "sa-token", "expires_in": 3600}))
        postmaster_routes(server)
        settings = {"domains": ["shop.example"], "base_url": server.url, "token_url": server.url + "/token", "service_account_file": str(key_file)}
        (result,) = fetch_reputation(engine, config_for({"postmaster": settings}), NOW, sleep=no_sleep)
    assert result.error is None
    form = parse_qs(server.requests[0].body.decode())
    header, claims, signature = form["assertion"][0].split(".")
    padded = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
    key.public_key().verify(padded(signature), (header + "." + claims).encode(), padding.PKCS1v15(), hashes.SHA256())
    decoded = json.loads(padded(claims))
    assert decoded["aud"] == server.url + "/token"
    assert decoded["iss"] == "watcher@project.iam.example"


def test_sender_score_lookup_through_local_dns(engine):
    zone = ZoneData(
        {"10.113.0.203.score.senderscore.com": {"A": ["127.0.4.85"]}},
        servfail=["12.113.0.203.score.senderscore.com"],
    )
    with DnsServer(zone) as running:
        resolver = Resolver([Nameserver("127.0.0.1", running.port)], timeout=1.0, attempts=1)
        config = config_for({"senderscore": {"ips": ["203.0.113.10", "203.0.113.11", "203.0.113.12"]}})
        (result,) = fetch_reputation(engine, config, NOW, resolver=resolver)
    assert result.error is None
    assert len(result.warnings) == 1
    assert "203.0.113.12 failed: servfail" in result.warnings[0]
    with engine.connect() as conn:
        scores = dict(conn.execute(sa.select(sender_scores.c.ip, sender_scores.c.score)).all())
    assert scores == {"203.0.113.10": 85, "203.0.113.11": None}


def test_feeds_not_configured_fetch_nothing(engine):
    assert fetch_reputation(engine, config_for({}), NOW) == []


def test_reputation_signals_from_stored_feeds(engine):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, SNDS_DATA))
        server.add("/snds/ipStatus.aspx", text_response(200, SNDS_STATUS))
        server.add("/token", json_response(200, {"access_token": "token", "expires_in": 3600}))
        postmaster_routes(server)
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}, "postmaster": user_credentials(server)})
        fetch_reputation(engine, config, NOW, sleep=no_sleep)
    with engine.connect() as conn:
        signals = {(signal.rule, signal.labels.get("auth", "")): signal for signal in reputation_signals(conn, config, NOW)}
    assert signals[("postmaster_spam_rate", "")].severity is Severity.CRITICAL
    assert "0.35%" in signals[("postmaster_spam_rate", "")].summary
    assert signals[("postmaster_auth_success", "dkim")].breached
    assert signals[("postmaster_domain_reputation", "")].severity is Severity.WARNING
    assert signals[("snds_filter_result", "")].severity is Severity.WARNING
    assert signals[("snds_trap_hits", "")].breached
    assert signals[("snds_blocked", "")].severity is Severity.CRITICAL


def fetch_all_feeds(engine):
    with ScriptedServer() as server:
        server.add("/snds/data.aspx", text_response(200, SNDS_DATA))
        server.add("/snds/ipStatus.aspx", text_response(200, SNDS_STATUS))
        server.add("/token", json_response(200, {"access_token": "token", "expires_in": 3600}))
        postmaster_routes(server)
        config = config_for({"snds": {"key": SNDS_KEY, "base_url": server.url + "/snds"}, "postmaster": user_credentials(server)})
        fetch_reputation(engine, config, NOW, sleep=no_sleep)
    return config


def rules_at(engine, config, at: datetime) -> set[str]:
    with engine.connect() as conn:
        return {signal.rule for signal in reputation_signals(conn, config, at)}


def test_replay_before_fetch_skips_snapshot(engine):
    config = fetch_all_feeds(engine)
    # Two hours before the fetch: the SNDS period (ended 3/3 8:00) and Gmail's
    # 3/3 day had ended, but the IP status snapshot did not exist yet.
    rules = rules_at(engine, config, NOW.replace(hour=10))
    assert "snds_blocked" not in rules
    assert "snds_filter_result" in rules
    assert "postmaster_spam_rate" in rules
    assert "snds_blocked" in rules_at(engine, config, NOW)


def test_replay_before_period_end_skips_data(engine):
    config = fetch_all_feeds(engine)
    # 3/3 at 7:00: the SNDS period ended an hour later and Gmail's 3/3 day had not ended.
    rules = rules_at(engine, config, datetime(2026, 3, 3, 7, 0, tzinfo=timezone.utc))
    assert rules == set()


def test_stale_snds_period_not_latest(engine):
    config = fetch_all_feeds(engine)
    # The period ended 3/3 8:00; four days later it no longer describes the IP.
    rules = rules_at(engine, config, datetime(2026, 3, 7, 9, 0, tzinfo=timezone.utc))
    assert "snds_filter_result" not in rules
    assert "snds_trap_hits" not in rules
    assert "snds_blocked" in rules
    assert "snds_filter_result" in rules_at(engine, config, datetime(2026, 3, 6, 7, 0, tzinfo=timezone.utc))


def test_reputation_loop_without_feeds_returns(engine):
    stop = threading.Event()
    run_reputation_loop(engine, config_for({}), stop, lambda: NOW)
    assert not stop.is_set()


def test_postmaster_compliance_rows_read(engine):
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "access-one", "expires_in": 3600}))
        postmaster_routes(server)
        config = config_for({"postmaster": user_credentials(server)})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    with engine.connect() as conn:
        state = feed_states(conn, "default")["postmaster-compliance:shop.example"]
    assert result.error is None
    assert state.detail == {
        "SPF_AND_DKIM": "COMPLIANT",
        "USER_REPORTED_SPAM_RATE": "NEEDS_WORK",
        "ONE_CLICK_UNSUBSCRIBE_VERDICT": "NEEDS_WORK (NO_UNSUB_GENERAL)",
        "HONOR_UNSUBSCRIBE_VERDICT": "COMPLIANT",
    }


def test_postmaster_unknown_v2_fields_noted(engine, caplog, monkeypatch):
    # Names are logged once per process, so the test starts with none logged.
    monkeypatch.setattr(reputation_records, "_logged_unknown_fields", set())
    page = {
        "domainStats": [
            {"name": "domains/shop.example/domainStats/1", "metric": "spam_rate", "date": {"year": 2026, "month": 3, "day": 3}, "value": {"doubleValue": 0.002}, "confidence": "HIGH"},
            {"name": "domains/shop.example/domainStats/2", "metric": "tls_rate", "date": {"year": 2026, "month": 3, "day": 3}, "value": {"percentValue": 99.5}},
        ],
        "queryWarnings": ["partial data"],
    }
    caplog.set_level(logging.WARNING)
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "access-one", "expires_in": 3600}))
        server.add("/v2/domains/shop.example/domainStats:query", json_response(200, page))
        server.add("/v2/domains/shop.example/complianceStatus", json_response(200, COMPLIANCE))
        config = config_for({"postmaster": {**user_credentials(server), "traffic_stats_v1": False}})
        (first,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
        (second,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    with engine.connect() as conn:
        (row,) = conn.execute(sa.select(postmaster_stats)).mappings().all()
    assert first.error is None
    assert second.error is None
    assert row["spam_rate"] == pytest.approx(0.002)
    assert row["tls_rate"] is None
    assert row["unknown_fields"] == ["domainStats.confidence", "response.queryWarnings", "value.percentValue"]
    logged = [record.getMessage() for record in caplog.records if "is not read by this version" in record.getMessage()]
    assert len(logged) == 3
    assert any("value.percentValue" in message for message in logged)


def test_postmaster_v2_rejected_fails_feed(engine, caplog):
    caplog.set_level(logging.WARNING)
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "token", "expires_in": 3600}))
        server.add("/v2/domains/shop.example/domainStats:query", json_response(401, {"error": "invalid credentials"}))
        server.add("/v2/domains/shop.example/complianceStatus", json_response(200, COMPLIANCE))
        config = config_for({"postmaster": {**user_credentials(server), "traffic_stats_v1": False}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    with engine.connect() as conn:
        states = feed_states(conn, "default")
    assert result.error is not None
    assert "Postmaster domain stats for shop.example failed: HTTP 401" in result.error
    assert states["postmaster"].status == "failed"
    assert states["postmaster"].error == result.error
    assert states["postmaster-compliance:shop.example"].status == "ok"
    messages = [record.getMessage() for record in caplog.records]
    assert not any(message.count("Postmaster domain stats for shop.example") > 1 for message in messages)


def test_postmaster_token_down_fails_feed(engine):
    # The token endpoint fails every try of the domain stats request, then serves the compliance request.
    with ScriptedServer() as server:
        server.add("/token", json_response(500, {}), json_response(500, {}), json_response(500, {}), json_response(200, {"access_token": "token", "expires_in": 3600}))
        postmaster_routes(server)
        config = config_for({"postmaster": {**user_credentials(server), "traffic_stats_v1": False}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    with engine.connect() as conn:
        states = feed_states(conn, "default")
    assert result.error.startswith("Postmaster domain stats for shop.example failed: OAuth token request failed: HTTP 500 from %s/token" % server.url)
    assert states["postmaster"].status == "failed"
    assert states["postmaster-compliance:shop.example"].status == "ok"


def test_postmaster_compliance_failure_recorded(engine):
    with ScriptedServer() as server:
        server.add("/token", json_response(200, {"access_token": "token", "expires_in": 3600}))
        server.add("/v2/domains/shop.example/domainStats:query", json_response(200, V2_PAGE))
        server.add("/v2/domains/shop.example/complianceStatus", json_response(500, {}))
        config = config_for({"postmaster": {**user_credentials(server), "traffic_stats_v1": False}})
        (result,) = fetch_reputation(engine, config, NOW, sleep=no_sleep)
    with engine.connect() as conn:
        states = feed_states(conn, "default")
    compliance_state = states["postmaster-compliance:shop.example"]
    assert result.error is None
    assert len(result.warnings) == 1
    assert "Postmaster compliance status for shop.example failed: HTTP 500" in result.warnings[0]
    assert compliance_state.status == "failed"
    assert compliance_state.error == result.warnings[0]
    assert compliance_state.last_success_at is None
