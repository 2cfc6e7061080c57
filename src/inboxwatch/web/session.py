"""The dashboard's browser session: the API token in a cookie, and CSRF tokens for form posts.

The login form stores the token the user pastes in the SESSION_COOKIE cookie
(HttpOnly, so page scripts cannot read it, and SameSite=Strict, so other
sites cannot send it). The JSON API accepts that cookie for reads only
(`auth.request_token`), so a change made with a cookie alone must come
through a dashboard form, which checks a CSRF token.

CSRF tokens use the double-submit pattern: a random value in the
CSRF_COOKIE cookie that every form repeats in a hidden field. A page of
another site can neither read the cookie nor set it, so it cannot build a
matching form.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

SESSION_COOKIE = "inboxwatch_token"
CSRF_COOKIE = "inboxwatch_csrf"
CSRF_FIELD = "csrf_token"

# The browser forgets the token after this; the user logs in again.
SESSION_MAX_AGE_SECONDS = 12 * 3600

# 32 random bytes, as OWASP's CSRF cheat sheet suggests for token entropy (at least 128 bits).
CSRF_BYTES = 32


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_value(request: Request) -> str:
    """Return the request's CSRF cookie value, or a new random one that `set_csrf_cookie` must send."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(CSRF_BYTES)


def csrf_matches(request: Request, submitted: str | None) -> bool:
    """Return True when the form's CSRF field equals the CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_csrf_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict", secure=is_https(request), path="/")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_SECONDS, httponly=True, samesite="strict", secure=is_https(request), path="/"
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
