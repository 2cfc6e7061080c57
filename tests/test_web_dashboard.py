"""The dashboard in headless Chromium against a real uvicorn server on 127.0.0.1.

Each page is saved as a screenshot under test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import httpx
import pytest

from inboxwatch.config.models import Config
from inboxwatch.model.alerts import AlertState
from inboxwatch.store.alerts import get_alert, record_transition, save_alert
from inboxwatch.store.db import open_engine
from inboxwatch.store.tokens import create_token
from inboxwatch.web.app import create_app
from inboxwatch.web.server import build_server, serve_until

from browser_support import CHROMIUM, CHROMIUM_ARGS, browser_test, only_loopback, screenshot_path
from dashboard_support import fill_store, make_alert
from web_support import NOW, fixed_clock

pytestmark = browser_test

# Bounds on waiting for the server and the page; no assertion depends on timing.
START_TIMEOUT_SECONDS = 30
PAGE_TIMEOUT_MS = 20_000

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# How long a live update may take to reach the page (milliseconds).
LIVE_UPDATE_TIMEOUT_MS = 45_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serve a filled store on 127.0.0.1; yield (base URL, engine, tokens by role, alert ids by state)."""
    engine = open_engine("sqlite:///%s" % (tmp_path_factory.mktemp("dashboard") / "store.db"))
    alert_ids = fill_store(engine)
    tokens = {}
    with engine.begin() as conn:
        for role in ("viewer", "operator"):
            _, tokens[role] = create_token(conn, name="%s-user" % role, role=role, now=NOW - timedelta(days=1))
    config = Config.model_validate({"service": {"http_host": "127.0.0.1", "http_port": free_port()}})
    server = build_server(create_app(engine, config, fixed_clock), config.service)
    stop = threading.Event()
    thread = threading.Thread(target=serve_until, args=(server, stop))
    thread.start()
    base_url = "http://127.0.0.1:%d" % config.service.http_port
    with httpx.Client(base_url=base_url, timeout=5) as client:
        for _ in range(START_TIMEOUT_SECONDS * 10):
            try:
                client.get("/healthz")
                break
            except httpx.TransportError:
                stop.wait(0.1)
    yield base_url, engine, tokens, alert_ids
    stop.set()
    thread.join()
    engine.dispose()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=LAPTOP)
    context.route("**/*", only_loopback)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


def log_in(page, base_url: str, token: str, path: str = "/") -> None:
    page.goto(base_url + path)
    assert page.url.startswith(base_url + "/login")
    page.fill("#token", token)
    page.click("form[action='/login'] button")
    page.wait_for_url(base_url + path)


def test_dashboard_redirects_to_login(page, server):
    base_url, _, _, _ = server
    page.goto(base_url + "/alerts")
    assert page.url == base_url + "/login?next=%2Falerts"
    page.screenshot(path=screenshot_path("login"), full_page=True)


def test_dashboard_login_rejects_unknown_token(page, server):
    base_url, _, _, _ = server
    page.goto(base_url + "/login")
    page.fill("#token", "iwk_not-a-token")
    page.click("form[action='/login'] button")
    assert "Unknown or revoked token" in page.inner_text(".error")


def test_dashboard_overview_draws_charts(page, server):
    base_url, _, tokens, _ = server
    log_in(page, base_url, tokens["viewer"])
    page.wait_for_selector("body[data-charts-ready='true']")
    figures = page.query_selector_all(".chart")
    assert len(figures) == 5
    for figure in figures:
        canvas = figure.query_selector("canvas")
        assert canvas is not None, figure.get_attribute("data-metric")
        box = canvas.bounding_box()
        assert box["width"] > 100, figure.get_attribute("data-metric")
        assert box["height"] > 100, figure.get_attribute("data-metric")
        assert int(figure.get_attribute("data-points")) > 0, figure.get_attribute("data-metric")
    legend = page.inner_text(".chart[data-metric='volume'] .u-legend")
    for provider in ("gmail", "microsoft", "yahoo", "apple"):
        assert provider in legend
    assert page.inner_text("table tbody tr:first-child td:first-child") == "gmail"
    page.screenshot(path=screenshot_path("overview"), full_page=True)


def test_dashboard_overview_on_phone(page, server):
    base_url, _, tokens, _ = server
    page.set_viewport_size(PHONE)
    log_in(page, base_url, tokens["viewer"], "/?range=7d")
    page.wait_for_selector("body[data-charts-ready='true']")
    widths = page.eval_on_selector_all(".chart canvas", "canvases => canvases.map(c => c.getBoundingClientRect().right)")
    assert widths and max(widths) <= PHONE["width"]
    page.screenshot(path=screenshot_path("overview-phone"), full_page=True)


def test_dashboard_drill_down_by_ip(page, server):
    base_url, _, tokens, _ = server
    log_in(page, base_url, tokens["viewer"])
    page.click("table tbody tr:first-child td:first-child a")
    page.wait_for_selector("body[data-charts-ready='true']")
    assert "by=ip" in page.url
    assert "provider=gmail" in page.url
    keys = page.eval_on_selector_all("table tbody tr td:first-child", "cells => cells.map(c => c.innerText)")
    assert sorted(keys) == ["192.0.2.10", "192.0.2.11"]
    page.screenshot(path=screenshot_path("drill-ip"), full_page=True)


def test_dashboard_operator_acknowledges_alert(page, server):
    base_url, engine, tokens, alert_ids = server
    firing_id = alert_ids["firing"]
    log_in(page, base_url, tokens["operator"], "/alerts")
    row = "tr[data-alert-id='%d']" % firing_id
    page.fill(row + " input[name='note']", "moving traffic to the second IP")
    page.click(row + " button.ack")
    page.wait_for_selector(".notice")
    assert page.inner_text(".notice") == "Alert %d acknowledged." % firing_id
    assert page.get_attribute(row, "data-state") == "acknowledged"
    with engine.connect() as conn:
        alert = get_alert(conn, firing_id)
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acknowledged_by == "token:operator-user"
    assert alert.ack_note == "moving traffic to the second IP"
    page.screenshot(path=screenshot_path("alerts"), full_page=True)


def test_dashboard_alerts_fit_phone(page, server):
    base_url, _, tokens, alert_ids = server
    page.set_viewport_size(PHONE)
    log_in(page, base_url, tokens["operator"], "/alerts")
    row = "tr[data-alert-id='%d']" % alert_ids["firing"]
    card_right = page.eval_on_selector("#open-alerts", "table => table.closest('.card').getBoundingClientRect().right")
    table_right = page.eval_on_selector("#open-alerts", "table => table.getBoundingClientRect().right")
    button_right = page.eval_on_selector(row + " button.secondary", "button => button.getBoundingClientRect().right")
    assert table_right <= card_right
    assert button_right <= PHONE["width"]
    assert page.eval_on_selector("#open-alerts", "table => table.closest('.scroll').scrollWidth <= table.closest('.scroll').clientWidth")
    page.screenshot(path=screenshot_path("alerts-phone"), full_page=True)


def test_dashboard_viewer_has_no_ack_button(page, server):
    base_url, _, tokens, _ = server
    log_in(page, base_url, tokens["viewer"], "/alerts")
    assert page.query_selector("button.ack") is None


def test_dashboard_alerts_page_updates_live(page, server):
    base_url, engine, tokens, _ = server
    log_in(page, base_url, tokens["viewer"], "/alerts")
    page.wait_for_selector("#stream-status:has-text('on')")
    with engine.begin() as conn:
        alert = save_alert(conn, make_alert("complaint_rate", "apple", AlertState.FIRING, 1))
        record_transition(conn, alert.id, NOW, AlertState.PENDING, AlertState.FIRING, None)
    # The stream polls once a second: the change is listed as soon as its
    # event arrives, then the table is fetched again, without a reload.
    # The longer wait covers a machine busy with the rest of the suite.
    page.wait_for_selector("#alert-history li:has-text('complaint_rate')", timeout=LIVE_UPDATE_TIMEOUT_MS)
    page.wait_for_selector("tr[data-alert-id='%d']" % alert.id, state="attached", timeout=LIVE_UPDATE_TIMEOUT_MS)
    assert "complaint_rate" in page.inner_text("#alert-history li:first-child")


def test_dashboard_status_pages(page, server):
    base_url, _, tokens, _ = server
    log_in(page, base_url, tokens["viewer"], "/dns")
    assert "bl.spamcop.net" in page.inner_text("main")
    assert "p=none does not protect the domain" in page.inner_text("main")
    page.screenshot(path=screenshot_path("dns"), full_page=True)
    page.goto(base_url + "/dmarc")
    assert "sender.example" in page.inner_text("main")
    assert "192.0.2.10" in page.inner_text("main")
    page.screenshot(path=screenshot_path("dmarc"), full_page=True)
