"""Dashboard pages reject bad requests with an HTML error page; the API keeps its JSON errors."""

from __future__ import annotations

import pytest

from inboxwatch.web.session import CSRF_COOKIE

from web_support import bearer, make_client


@pytest.fixture
def client(tmp_path):
    client = make_client(tmp_path)
    token = bearer(client, "viewer")["Authorization"].split()[1]
    form = client.get("/login")
    client.post("/login", data={"token": token, "next": "/", "csrf_token": form.cookies[CSRF_COOKIE]}, follow_redirects=False)
    return client


@pytest.mark.parametrize(
    "path, message",
    [
        ("/?range=bogus", "invalid range &#39;bogus&#39;"),
        ("/drill?by=planet", "invalid dimension &#39;planet&#39;"),
        ("/dmarc?range=abc", "invalid range &#39;abc&#39;: expected one of 7d, 30d, 90d"),
    ],
)
def test_page_bad_parameter_is_html_400(client, path, message):
    response = client.get(path)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_page_unknown_path_is_html_404(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_api_error_stays_json(client):
    response = client.get("/api/v1/overview?range=bogus", headers=bearer(client, "viewer"))

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "invalid range" in response.json()["detail"]
