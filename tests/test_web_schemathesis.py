"""Property-based tests of every documented API operation, generated from the OpenAPI document by schemathesis.

The application runs in-process (ASGI) over a small filled store, with an
admin token so that generated requests get past authentication. The one
property checked is that no input makes the server fail (5xx).
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed: pip install -e '.[test]'")
from hypothesis import HealthCheck, settings  # noqa: E402  (after the skip check)

from inboxwatch.store.db import open_engine  # noqa: E402
from inboxwatch.store.tokens import create_token  # noqa: E402
from inboxwatch.web.app import create_app  # noqa: E402

from dashboard_support import fill_store  # noqa: E402
from web_support import NOW, SendGridSigner, fixed_clock, make_config  # noqa: E402

STORE_DIR = tempfile.TemporaryDirectory(prefix="inboxwatch-schemathesis-")
ENGINE = open_engine("sqlite:///%s" % (Path(STORE_DIR.name) / "store.db"))
fill_store(ENGINE, events=200)
with ENGINE.begin() as connection:
    _, ADMIN_TOKEN = create_token(connection, name="schemathesis", role="admin", now=NOW - timedelta(days=1))

APP = create_app(ENGINE, make_config({"sendgrid": {"secret": SendGridSigner().public_key_b64}}), fixed_clock)

# The alert stream never ends, so a generated call to it would never return;
# revoking tokens would revoke the one the other calls use.
schema = (
    schemathesis.openapi.from_asgi("/openapi.json", APP)
    .exclude(path="/api/v1/alerts/stream")
    .exclude(method="DELETE", path_regex="^/api/v1/tokens/")
)

AUTHORIZATION = {"Authorization": "Bearer " + ADMIN_TOKEN}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_generated_input_no_server_error(case):
    response = case.call(headers=AUTHORIZATION)
    assert response.status_code < 500, "%s %s -> %d: %s" % (case.method, case.path, response.status_code, response.text[:500])
