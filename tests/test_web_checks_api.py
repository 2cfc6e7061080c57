"""`/api/v1/checks` and `/api/v1/dmarc/sources`: the DNS check and DMARC data of the dashboard pages, as JSON."""

from datetime import timedelta

from dashboard_support import NOW, add_dmarc_report, add_dns_results
from web_support import bearer, make_client


def make_filled_client(tmp_path):
    client = make_client(tmp_path)
    with client.engine.begin() as conn:
        add_dns_results(conn)
        add_dmarc_report(conn)
    return client


def test_checks_latest_and_listings(tmp_path):
    client = make_filled_client(tmp_path)
    response = client.get("/api/v1/checks", headers=bearer(client, "viewer"))
    assert response.status_code == 200, response.text
    body = response.json()
    statuses = {(item["kind"], item["subject"], item["check_name"]): item["status"] for item in body["results"]}
    assert statuses[("blocklist", "192.0.2.11", "bl.spamcop.net")] == "listed"
    assert statuses[("auth", "news.example.com", "auth")] == "warning"
    assert [(item["asset"], item["list_name"]) for item in body["open_listings"]] == [("192.0.2.11", "bl.spamcop.net")]


def test_checks_history_filters(tmp_path):
    client = make_filled_client(tmp_path)
    headers = bearer(client, "viewer")
    response = client.get("/api/v1/checks/history", params={"kind": "blocklist", "subject": "192.0.2.11"}, headers=headers)
    assert response.status_code == 200, response.text
    assert [item["check_name"] for item in response.json()["results"]] == ["bl.spamcop.net"]

    later = (NOW + timedelta(hours=1)).isoformat()
    response = client.get("/api/v1/checks/history", params={"from": later}, headers=headers)
    assert response.json()["results"] == []


def test_checks_history_bad_range_is_400(tmp_path):
    client = make_filled_client(tmp_path)
    response = client.get(
        "/api/v1/checks/history", params={"from": "2026-03-02T00:00Z", "to": "2026-03-01T00:00Z"}, headers=bearer(client, "viewer")
    )
    assert response.status_code == 400
    assert "invalid time range" in response.json()["detail"]


def test_dmarc_sources_of_busiest_domain(tmp_path):
    client = make_filled_client(tmp_path)
    window = {"from": (NOW - timedelta(days=7)).isoformat(), "to": NOW.isoformat()}
    response = client.get("/api/v1/dmarc/sources", params=window, headers=bearer(client, "viewer"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["domain"] == body["domains"][0]["domain"]
    assert body["sources"], body
    first = body["sources"][0]
    assert set(first) >= {"source_ip", "messages", "dmarc_pass", "dkim_pass", "spf_pass", "pass_rate", "reporters"}


def test_checks_need_a_token(tmp_path):
    client = make_filled_client(tmp_path)
    assert client.get("/api/v1/checks").status_code == 401
    assert client.get("/api/v1/dmarc/sources").status_code == 401
