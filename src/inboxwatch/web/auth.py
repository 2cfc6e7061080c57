"""API token authentication and role checks for `/api/v1`.

A request sends `Authorization: Bearer <token>`. A GET or HEAD request
may instead carry the dashboard's session cookie, so that the browser's
chart requests and its EventSource (which cannot set headers) are
authenticated. No token or an unknown one gets 401; a token whose role is
too low gets 403. Roles: viewer reads, operator also acknowledges, resolves
and ingests, admin also manages tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inboxwatch.store.tokens import ApiToken, find_token, touch_token
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.session import session_token

log = logging.getLogger(__name__)

# Minimum age of a token's last_used_at before a request updates it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


# Requests that change nothing; only these may be authenticated by the session cookie.
SAFE_METHODS = ("GET", "HEAD")


def request_token(request: Request) -> str | None:
    """Return the bearer token, or for a safe method the session cookie's token, or None."""
    token = bearer_token(request)
    if token is None and request.method in SAFE_METHODS:
        token = session_token(request)
    return token


def lookup_token(context: WebContext, token: str) -> ApiToken | None:
    """Return the active token whose text is `token`, or None, and record its use."""
    now = context.clock()
    with context.engine.begin() as conn:
        found = find_token(conn, token)
        # Recording every use would make each read a write, which SQLite serialises.
        if found is not None and (found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION):
            touch_token(conn, found.id, now)
    return found


# Declares the bearer scheme in the OpenAPI document (the Authorize button of
# OpenAPI tools). auto_error is off because `require_role` reads the header
# itself, so that GET requests may use the session cookie instead.
BEARER_SCHEME = HTTPBearer(auto_error=False, description="An API token from `inboxwatch tokens create`")


def require_role(role: str) -> Callable[..., ApiToken]:
    """Build a dependency that returns the caller's token when its role includes `role`."""

    def dependency(
        request: Request,
        context: WebContext = Depends(web_context),
        _credentials: HTTPAuthorizationCredentials | None = Depends(BEARER_SCHEME),
    ) -> ApiToken:
        token = request_token(request)
        if token is None:
            raise HTTPException(401, "missing API token: send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
        found = lookup_token(context, token)
        if found is None:
            log.warning("API request with an unknown or revoked token from %s", request.client.host if request.client else "?")
            raise HTTPException(401, "invalid API token: unknown or revoked", headers={"WWW-Authenticate": "Bearer"})
        if not found.allows(role):
            raise HTTPException(403, "token %r has role %s; this call needs %s or higher" % (found.name, found.role, role))
        return found

    return dependency


require_viewer = require_role("viewer")
require_operator = require_role("operator")
require_admin = require_role("admin")
