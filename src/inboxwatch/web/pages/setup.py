"""Attach the dashboard to the application: page routes, `/static/`, and the responses to session errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from inboxwatch.web.pages import alerts_page, login, metric_pages, status_pages
from inboxwatch.web.pages.common import STATIC_DIR, CsrfRejected, LoginRequired, RoleTooLow, login_url, render


def add_dashboard(app: FastAPI) -> None:
    for module in (login, metric_pages, alerts_page, status_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(RoleTooLow, role_too_low)
    app.add_exception_handler(CsrfRejected, csrf_rejected)


async def to_login(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(login_url(exc.path), status_code=303)


async def role_too_low(request: Request, exc: RoleTooLow) -> Response:
    return render(request, "error.html", {"title": "Not allowed", "message": str(exc)}, status_code=403)


async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
    message = "The form was missing its security token or it had expired. Go back, reload the page and submit it again."
    return render(request, "error.html", {"title": "Form rejected", "message": message}, status_code=403)
