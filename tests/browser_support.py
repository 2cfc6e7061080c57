"""Headless Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by Playwright, reaching only loopback.

Playwright never downloads a browser here: it launches the system binary
by path. Tests that need it skip with the reason when either is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"

# Without the background-networking flags Chromium tries to reach Google's
# hosts at every start. The host resolver rule makes every other name fail
# to resolve, so the browser can reach nothing but 127.0.0.1.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def chromium_missing_reason() -> str | None:
    """Return why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed: pip install -e '.[test]'"
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "Chromium is not installed at %s: apt-get install -y chromium (.ci/run does this in CI)" % CHROMIUM
    return None


browser_test = pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")


def only_loopback(route) -> None:
    """Let a request through when it goes to 127.0.0.1, and abort it otherwise."""
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / ("%s.png" % name)
