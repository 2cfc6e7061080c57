"""Out-of-range times, durations, steps and ids in API requests get a 4xx naming the parameter, never a 500."""

from __future__ import annotations

import pytest

from inboxwatch.config.durations import parse_duration
from inboxwatch.store.audit import list_audit

from web_support import bearer, make_client

MATCHERS = ['provider="gmail"']


@pytest.fixture
def client(tmp_path):
    return make_client(tmp_path)


@pytest.mark.parametrize(
    "path, query, name",
    [
        ("/api/v1/metrics/series", "step=99999999999999999999m", "step"),
        ("/api/v1/metrics/series", "step=36501d", "step"),
        ("/api/v1/export/metrics.csv", "step=99999999999999999999m", "step"),
        ("/api/v1/export/metrics.json", "step=99999999999999999999m", "step"),
        ("/api/v1/metrics", "from=9999-12-31T23:59:59Z&to=9999-12-31T23:59:59.5Z", "to"),
        ("/api/v1/metrics", "from=9999-12-31T23:59:59Z&to=2026-01-01T00:00:00Z", "from"),
        ("/api/v1/metrics", "from=2026-01-01T00:00:00Z&to=9999-12-31T23:59:59.5Z", "to"),
        ("/api/v1/metrics", "from=1969-12-31T23:00:00Z", "from"),
        ("/api/v1/metrics/series", "from=2026-01-01T00:00:00Z&to=9000-01-01T00:00:00Z&step=1d", "to"),
        ("/api/v1/export/alerts.csv", "to=9999-12-31T23:59:59Z", "to"),
        ("/api/v1/quarantine", "since=9999-12-31T23:59:59-01:00", "since"),
    ],
)
def test_query_out_of_range_is_400(client, path, query, name):
    response = client.get(path + "?" + query, headers=bearer(client, "viewer"))

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("invalid %s " % name)
    assert "expected" in detail


def test_step_message_gives_allowed_range(client):
    response = client.get("/api/v1/metrics/series?step=99999999999999999999m", headers=bearer(client, "viewer"))

    assert "from 1m to 36500d" in response.json()["detail"]


def test_time_message_gives_allowed_range(client):
    response = client.get("/api/v1/metrics?to=9999-12-31T23:59:59Z&from=2026-01-01T00:00:00Z", headers=bearer(client, "viewer"))

    assert "from 1970-01-01T00:00:00+00:00 to before 9000-01-01T00:00:00+00:00" in response.json()["detail"]


def test_stream_last_event_id_beyond_int64_is_400(client):
    headers = {**bearer(client, "viewer"), "Last-Event-ID": "99999999999999999999999"}
    response = client.get("/api/v1/alerts/stream", headers=headers)

    assert response.status_code == 400
    assert "from 0 to 9223372036854775807" in response.json()["detail"]


@pytest.mark.parametrize(
    "body, status, message",
    [
        pytest.param({"duration": "999999999d"}, 422, "the maximum is 36500d", id="duration-too-long"),
        pytest.param({"starts_at": "9999-12-31T23:59:59Z", "duration": "2h"}, 400, "invalid starts_at", id="start-near-year-9999"),
        pytest.param({"ends_at": "9999-12-31T23:59:59Z"}, 400, "invalid ends_at", id="end-near-year-9999"),
        pytest.param({"starts_at": "0001-01-01T00:00:00+01:00"}, 400, "invalid starts_at", id="start-before-year-1"),
        pytest.param({"duration": "0s"}, 400, "expected more than 0s", id="zero-duration"),
        pytest.param({"duration": "0h0m"}, 400, "expected more than 0s", id="zero-duration-in-parts"),
    ],
)
def test_silence_out_of_range_is_rejected(client, body, status, message):
    response = client.post("/api/v1/silences", json={"matchers": MATCHERS, "comment": "c", **body}, headers=bearer(client, "operator"))

    assert response.status_code == status
    assert message in str(response.json()["detail"])
    with client.engine.connect() as conn:
        assert list_audit(conn) == []


def test_silence_matcher_error_names_matcher_once(client):
    response = client.post("/api/v1/silences", json={"matchers": ["foo"], "comment": "c"}, headers=bearer(client, "operator"))

    assert response.status_code == 400
    assert response.json()["detail"].count("invalid matcher") == 1


def test_silence_longest_duration_is_accepted(client):
    response = client.post("/api/v1/silences", json={"matchers": MATCHERS, "comment": "c", "duration": "36500d"}, headers=bearer(client, "operator"))

    assert response.status_code == 201


def test_parse_duration_rejects_over_maximum():
    with pytest.raises(ValueError, match="the maximum is 36500d"):
        parse_duration("36501d")


@pytest.mark.parametrize("group_by", ["planet", "provider,ip", ""])
def test_overview_group_by_expects_one(client, group_by):
    response = client.get("/api/v1/overview", params={"group_by": group_by}, headers=bearer(client, "viewer"))

    assert response.status_code == 400
    assert "expected exactly one of" in response.json()["detail"]
