"""Templates, the session check, CSRF checks and response headers shared by every dashboard page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from inboxwatch.model.alerts import OPEN_STATES
from inboxwatch.store.overview import count_alerts
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.auth import lookup_token
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.session import CSRF_FIELD, csrf_matches, csrf_value, session_token, set_csrf_cookie

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

TEMPLATES = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True))

# Pages load scripts, styles and data only from this server. uPlot sets
# element styles from script, which CSP counts as inline style.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """The request has no valid session cookie; the app responds with a redirect to the login page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class RoleTooLow(Exception):
    """The session's token lacks the role the request needs; the app responds with 403 and the reason."""

    def __init__(self, token: ApiToken, role: str) -> None:
        super().__init__("token %r has role %s; this needs %s or higher" % (token.name, token.role, role))


class CsrfRejected(Exception):
    """A form post carried no CSRF field or one that does not match its cookie."""


def page_role(role: str):
    """Build a dependency that returns the session's token when its role includes `role`."""

    def dependency(request: Request, context: WebContext = Depends(web_context)) -> ApiToken:
        text = session_token(request)
        token = lookup_token(context, text) if text else None
        if token is None:
            raise LoginRequired(request.url.path + ("?" + request.url.query if request.url.query else ""))
        if not token.allows(role):
            raise RoleTooLow(token, role)
        return token

    return dependency


page_viewer = page_role("viewer")
page_operator = page_role("operator")


def check_csrf(request: Request, submitted: str | None) -> None:
    if not csrf_matches(request, submitted):
        log.warning("form post to %s rejected: missing or wrong CSRF token", request.url.path)
        raise CsrfRejected()


def login_url(path: str) -> str:
    return "/login?next=" + quote(path, safe="")


def open_alert_count(context: WebContext) -> int:
    with context.engine.connect() as conn:
        counts = count_alerts(conn)
    open_values = {state.value for state in OPEN_STATES}
    return sum(count for (state, _), count in counts.items() if state in open_values)


def render(request: Request, name: str, values: dict[str, Any], *, token: ApiToken | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a page with the values every layout needs, a CSRF cookie and the security headers."""
    csrf = csrf_value(request)
    context: WebContext = request.app.state.context
    page_values = {
        "token": token,
        "csrf": csrf,
        "csrf_field": CSRF_FIELD,
        "can_operate": token is not None and token.allows("operator"),
        "open_alerts": open_alert_count(context) if token is not None else 0,
        **values,
    }
    response = TEMPLATES.TemplateResponse(request, name, page_values, status_code=status_code, headers=PAGE_HEADERS)
    set_csrf_cookie(response, request, csrf)
    return response
