"""Attach the dashboard to the application: page routes, `/static/`, and the responses to session and request errors."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from inboxwatch.web.pages import alerts_page, login, metric_pages, status_pages
from inboxwatch.web.pages.common import STATIC_DIR, CsrfRejected, LoginRequired, RoleTooLow, login_url, render


def add_dashboard(app: FastAPI) -> None:
    for module in (login, metric_pages, alerts_page, status_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(RoleTooLow, role_too_low)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


# Paths whose errors stay JSON: the API, webhooks and the machine-read endpoints. Every other path is a dashboard page.
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/metrics", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/static/")

ERROR_TITLES = {400: "Invalid request", 404: "Not found", 405: "Not allowed", 422: "Invalid request"}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(MACHINE_PREFIXES)


def error_page(request: Request, status_code: int, message: str) -> Response:
    title = ERROR_TITLES.get(status_code, "Request failed")
    return render(request, "error.html", {"title": title, "message": message}, status_code=status_code)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Show a dashboard page's HTTP error as a page; API errors keep FastAPI's JSON body."""
    if not is_page(request):
        return await http_exception_handler(request, exc)
    return error_page(request, exc.status_code, str(exc.detail))


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    if not is_page(request):
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join("%s: %s" % (".".join(str(part) for part in error["loc"]), error["msg"]) for error in exc.errors())
    return error_page(request, 422, "invalid request: %s" % problems)


async def to_login(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(login_url(exc.path), status_code=303)


async def role_too_low(request: Request, exc: RoleTooLow) -> Response:
    return render(request, "error.html", {"title": "Not allowed", "message": str(exc)}, status_code=403)


async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
    message = "The form was missing its security token or it had expired. Go back, reload the page and submit it again."
    return render(request, "error.html", {"title": "Form rejected", "message": message}, status_code=403)
