"""`/login` and `/logout`: keep the API token the user pastes in an HttpOnly cookie, or drop it."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from inboxwatch.web.auth import lookup_token
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.pages.common import check_csrf, render
from inboxwatch.web.session import CSRF_FIELD, clear_session_cookie, set_session_cookie

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


def safe_next(path: str | None) -> str:
    """Return `path` when it is a path on this site, else `/`, so the login form cannot redirect elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/login")
def login_form(request: Request) -> Response:
    return render(request, "login.html", {"title": "Log in", "next": safe_next(request.query_params.get("next"))})


@router.post("/login")
def login(
    request: Request,
    token: str = Form(""),
    next_path: str = Form("/", alias="next"),
    csrf_token: str | None = Form(None, alias=CSRF_FIELD),
    context: WebContext = Depends(web_context),
) -> Response:
    check_csrf(request, csrf_token)
    found = lookup_token(context, token.strip()) if token.strip() else None
    if found is None:
        log.warning("dashboard login with an unknown or revoked token from %s", request.client.host if request.client else "?")
        values = {"title": "Log in", "next": safe_next(next_path), "error": "Unknown or revoked token. Create one with `inboxwatch tokens create`."}
        return render(request, "login.html", values, status_code=401)
    log.info("dashboard login by token %s", found.name)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, request, token.strip())
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str | None = Form(None, alias=CSRF_FIELD)) -> Response:
    check_csrf(request, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response
