"""The overview, export and alert stream endpoints, and the dashboard session: in-process, through TestClient."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from inboxwatch.model.alerts import AlertState
from inboxwatch.store.alerts import record_transition, save_alert
from inboxwatch.store.events import store_events
from inboxwatch.web.api_stream import alert_events
from inboxwatch.web.session import CSRF_COOKIE, SESSION_COOKIE

from dashboard_support import delivery_events, fill_store, make_alert
from web_support import NOW, bearer, make_client


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A client on a store filled once for the read-only tests of this module."""
    client = make_client(tmp_path_factory.mktemp("filled"))
    ids = fill_store(client.engine, events=600)
    client.alert_ids = ids
    client.viewer = bearer(client, "viewer")
    return client


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path)


def test_overview_by_provider_totals_match_events(filled):
    response = filled.get("/api/v1/overview?range=24h", headers=filled.viewer)
    assert response.status_code == 200
    body = response.json()
    # The window ends at the first 15-minute boundary after NOW, so its first quarter hour contains no event.
    start = datetime.fromisoformat(body["from"])
    expected_sent = sum(1 for event in delivery_events(600) if event.type.value == "sent" and event.time >= start)
    assert sum(row["counts"]["sent"] for row in body["totals"]) == expected_sent
    assert body["totals"][0]["key"] == "gmail"
    assert body["step_seconds"] == 900
    assert len(body["times"]) == 96


def test_overview_lines_align_with_times(filled):
    body = filled.get("/api/v1/overview?range=7d", headers=filled.viewer).json()
    assert {line["key"] for line in body["lines"]} == {"gmail", "microsoft", "yahoo", "apple"}
    for line in body["lines"]:
        assert len(line["volume"]) == len(body["times"])
        assert len(line["bounce_rate"]) == len(body["times"])


def test_overview_filters_and_groups_by_ip(filled):
    body = filled.get("/api/v1/overview?group_by=ip&provider=microsoft", headers=filled.viewer).json()
    assert sorted(row["key"] for row in body["totals"]) == ["192.0.2.10", "192.0.2.11"]
    all_microsoft = [row for row in filled.get("/api/v1/overview", headers=filled.viewer).json()["totals"] if row["key"] == "microsoft"][0]
    assert sum(row["counts"]["sent"] for row in body["totals"]) == all_microsoft["counts"]["sent"]


@pytest.mark.parametrize(
    "query",
    ["range=1y", "group_by=provider,ip", "group_by=", "group_by=color"],
    ids=["unknown-range", "two-dimensions", "no-dimension", "unknown-dimension"],
)
def test_overview_invalid_parameters_are_400(filled, query):
    response = filled.get("/api/v1/overview?" + query, headers=filled.viewer)
    assert response.status_code == 400


def test_overview_without_token_is_401(filled):
    assert filled.get("/api/v1/overview").status_code == 401


def test_export_metrics_csv_sums_to_totals(filled):
    overview = filled.get("/api/v1/overview", headers=filled.viewer).json()
    params = {"from": overview["from"], "to": overview["to"], "step": "1h", "group_by": "provider"}
    response = filled.get("/api/v1/export/metrics.csv", params=params, headers=filled.viewer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    totals = {row["key"]: row["counts"]["sent"] for row in overview["totals"]}
    exported: dict[str, int] = {}
    for row in rows:
        exported[row["provider"]] = exported.get(row["provider"], 0) + int(row["sent"])
    assert exported == totals


def test_export_metrics_json_is_one_document(filled):
    response = filled.get("/api/v1/export/metrics.json?step=6h&group_by=ip", headers=filled.viewer)
    body = json.loads(response.text)
    assert body["group_by"] == ["sending_ip"]
    assert body["step_seconds"] == 6 * 3600
    assert {row["key"]["sending_ip"] for row in body["rows"]} == {"192.0.2.10", "192.0.2.11"}
    assert all(row["counts"]["sent"] or row["counts"]["delivered"] for row in body["rows"])


def test_export_metrics_range_longer_than_chunk(filled):
    start = (NOW - timedelta(days=3)).isoformat()
    response = filled.get("/api/v1/export/metrics.json", params={"from": start, "step": "1d", "group_by": ""}, headers=filled.viewer)
    rows = response.json()["rows"]
    assert len(rows) == 1
    assert rows[0]["time"] == (NOW - timedelta(days=1)).isoformat()


def test_export_alerts_csv_lists_range(filled):
    response = filled.get("/api/v1/export/alerts.csv", headers=filled.viewer)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(row["state"] for row in rows) == ["firing", "pending", "resolved"]
    assert json.loads(rows[0]["labels"]) == {"provider": "microsoft"}


def test_export_alerts_json_outside_range_is_empty(filled):
    params = {"from": (NOW - timedelta(days=30)).isoformat(), "to": (NOW - timedelta(days=20)).isoformat()}
    response = filled.get("/api/v1/export/alerts.json", params=params, headers=filled.viewer)
    assert response.json()["alerts"] == []


def test_export_csv_escapes_formula_cells(client):
    events = [event.replace(campaign="=HYPERLINK(\"http://example.invalid\")") for event in delivery_events(5)]
    with client.engine.begin() as conn:
        store_events(conn, events, ingest_id=None, now=NOW)
    response = client.get("/api/v1/export/metrics.csv?group_by=campaign", headers=bearer(client, "viewer"))
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["campaign"] for row in rows} == {"'=HYPERLINK(\"http://example.invalid\")"}


def test_export_invalid_step_is_400(filled):
    assert filled.get("/api/v1/export/metrics.csv?step=30s", headers=filled.viewer).status_code == 400


def test_stream_without_token_is_401(client):
    assert client.get("/api/v1/alerts/stream").status_code == 401


def test_stream_invalid_last_event_id_is_400(client):
    response = client.get("/api/v1/alerts/stream", headers={**bearer(client, "viewer"), "Last-Event-ID": "abc"})
    assert response.status_code == 400


def collect_events(engine, after_id: int, polls: int) -> list[str]:
    """Run the stream generator for `polls` polls with no pause and return what it wrote."""
    remaining = [polls]

    async def is_disconnected() -> bool:
        remaining[0] -= 1
        return remaining[0] < 0

    async def run() -> list[str]:
        return [text async for text in alert_events(engine, after_id, is_disconnected, poll_seconds=0, heartbeat_seconds=0)]

    return asyncio.run(run())


def test_stream_sends_changes_after_id(client):
    with client.engine.begin() as conn:
        alert = save_alert(conn, make_alert("bounce_rate", "gmail", AlertState.FIRING, 5))
        record_transition(conn, alert.id, NOW, None, AlertState.PENDING, None)
        record_transition(conn, alert.id, NOW, AlertState.PENDING, AlertState.FIRING, None)
    written = collect_events(client.engine, after_id=1, polls=1)
    assert written[0].startswith("retry: ")
    assert written[1].startswith("id: 2\nevent: alert\ndata: ")
    change = json.loads(written[1].split("data: ", 1)[1])
    assert (change["alert_id"], change["from_state"], change["to_state"]) == (alert.id, "pending", "firing")
    assert change["labels"] == {"provider": "gmail"}


def test_stream_sends_heartbeat_when_idle(client):
    written = collect_events(client.engine, after_id=0, polls=2)
    assert written[1:] == [": heartbeat\n\n", ": heartbeat\n\n"]


def login(client, token: str, next_path: str = "/"):
    form = client.get("/login")
    return client.post("/login", data={"token": token, "next": next_path, "csrf_token": form.cookies[CSRF_COOKIE]}, follow_redirects=False)


def test_login_sets_strict_httponly_cookie(client):
    token = bearer(client, "viewer")["Authorization"].split()[1]
    response = login(client, token)
    assert response.status_code == 303
    cookie = [value for name, value in response.headers.multi_items() if name == "set-cookie" and value.startswith(SESSION_COOKIE)][0]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_login_without_csrf_is_403(client):
    token = bearer(client, "viewer")["Authorization"].split()[1]
    response = client.post("/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


def test_login_next_stays_on_site(client):
    token = bearer(client, "viewer")["Authorization"].split()[1]
    assert login(client, token, "//example.invalid/").headers["location"] == "/"


def test_session_cookie_reads_api_but_cannot_ack(client):
    with client.engine.begin() as conn:
        alert = save_alert(conn, make_alert("bounce_rate", "gmail", AlertState.FIRING, 5))
    token = bearer(client, "operator")["Authorization"].split()[1]
    login(client, token)
    assert client.get("/api/v1/alerts").status_code == 200
    assert client.post("/api/v1/alerts/%d/ack" % alert.id).status_code == 401


def test_ack_form_without_csrf_is_403(client):
    with client.engine.begin() as conn:
        alert = save_alert(conn, make_alert("bounce_rate", "gmail", AlertState.FIRING, 5))
    login(client, bearer(client, "operator")["Authorization"].split()[1])
    response = client.post("/alerts/%d/ack" % alert.id, data={"note": "x", "csrf_token": "wrong"}, follow_redirects=False)
    assert response.status_code == 403


def test_ack_form_as_viewer_is_403(client):
    with client.engine.begin() as conn:
        alert = save_alert(conn, make_alert("bounce_rate", "gmail", AlertState.FIRING, 5))
    login(client, bearer(client, "viewer")["Authorization"].split()[1])
    response = client.post("/alerts/%d/ack" % alert.id, data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False)
    assert response.status_code == 403


def test_ack_form_on_resolved_alert_shows_409(client):
    with client.engine.begin() as conn:
        alert = save_alert(conn, make_alert("bounce_rate", "gmail", AlertState.RESOLVED, 50))
    login(client, bearer(client, "operator")["Authorization"].split()[1])
    response = client.post("/alerts/%d/ack" % alert.id, data={"csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False)
    assert response.status_code == 409
    assert "only a firing alert can be acknowledged" in response.text


def test_pages_send_security_headers(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_alert_id_beyond_int64_is_422(client):
    response = client.get("/api/v1/alerts/%d" % 2**63, headers=bearer(client, "viewer"))
    assert response.status_code == 422


@pytest.mark.parametrize("query", ["to=0001-01-01T00:00:00", "from=0001-01-01T00:00:00%2B01:00"], ids=["no-room-for-default", "offset-before-year-1"])
def test_time_near_datetime_limits_is_400(client, query):
    response = client.get("/api/v1/metrics?" + query, headers=bearer(client, "viewer"))
    assert response.status_code == 400


def test_export_range_over_limit_is_400(client):
    params = {"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    response = client.get("/api/v1/export/metrics.csv", params=params, headers=bearer(client, "viewer"))
    assert response.status_code == 400
