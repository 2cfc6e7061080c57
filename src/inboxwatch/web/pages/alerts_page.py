"""`/alerts`: open alerts with acknowledge and resolve forms, active silences, recent changes and resolved alerts.

`/alerts/live` returns only the parts that change, for the page's script to
swap in when the alert stream reports a change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState
from inboxwatch.store.alerts import acknowledge, list_alerts, resolve_manually
from inboxwatch.store.overview import alert_changes
from inboxwatch.store.silences import list_silences
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.api_alerts import AlertChange, change_alert
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.params import RowId
from inboxwatch.web.pages.common import check_csrf, page_operator, page_viewer, render
from inboxwatch.web.session import CSRF_FIELD

router = APIRouter(include_in_schema=False)

OPEN_LIMIT = 500
RECENT_LIMIT = 50

# Outcomes of a form post, shown as a notice after the redirect back to the page.
NOTICES = {
    "acknowledged": "Alert {id} acknowledged.",
    "resolved": "Alert {id} resolved.",
}


def live_values(context: WebContext) -> dict[str, Any]:
    with context.engine.connect() as conn:
        return {
            "open": list_alerts(conn, OPEN_STATES, limit=OPEN_LIMIT),
            "changes": alert_changes(conn, limit=RECENT_LIMIT, newest_first=True),
            "resolved": list_alerts(conn, [AlertState.RESOLVED], limit=RECENT_LIMIT),
            "silences": list_silences(conn, ending_after=context.clock()),
        }


@router.get("/alerts")
def alerts_page(request: Request, token: ApiToken = Depends(page_viewer), context: WebContext = Depends(web_context)) -> Response:
    notice = None
    for outcome, text in NOTICES.items():
        alert_id = request.query_params.get(outcome)
        if alert_id and alert_id.isdigit():
            notice = text.format(id=alert_id)
    values = {"title": "Alerts", "page": "alerts", "notice": notice, "now": context.clock(), **live_values(context)}
    return render(request, "alerts.html", values, token=token)


@router.get("/alerts/live")
def alerts_live(request: Request, token: ApiToken = Depends(page_viewer), context: WebContext = Depends(web_context)) -> Response:
    return render(request, "alerts_live.html", {"now": context.clock(), **live_values(context)}, token=token)


@router.post("/alerts/{alert_id}/ack")
def ack_form(
    request: Request,
    alert_id: RowId,
    note: str = Form("", max_length=2000),
    csrf_token: str | None = Form(None, alias=CSRF_FIELD),
    token: ApiToken = Depends(page_operator),
    context: WebContext = Depends(web_context),
) -> Response:
    return change_from_form(request, context, token, alert_id, "alert.acknowledge", acknowledge, note, csrf_token, "acknowledged")


@router.post("/alerts/{alert_id}/resolve")
def resolve_form(
    request: Request,
    alert_id: RowId,
    note: str = Form("", max_length=2000),
    csrf_token: str | None = Form(None, alias=CSRF_FIELD),
    token: ApiToken = Depends(page_operator),
    context: WebContext = Depends(web_context),
) -> Response:
    return change_from_form(request, context, token, alert_id, "alert.resolve", resolve_manually, note, csrf_token, "resolved")


def change_from_form(
    request: Request,
    context: WebContext,
    token: ApiToken,
    alert_id: int,
    action: str,
    apply: Callable[..., Alert],
    note: str,
    csrf_token: str | None,
    outcome: str,
) -> Response:
    """Check the CSRF field, apply the change as the API does (same audit entry), and go back to the page."""
    check_csrf(request, csrf_token)
    try:
        change_alert(context, token, alert_id, action, apply, AlertChange(note=note.strip() or None))
    except HTTPException as exc:
        # 404 or 409: show the reason on the page, with the alerts as they are now.
        values = {"title": "Alerts", "page": "alerts", "error": exc.detail, "now": context.clock(), **live_values(context)}
        return render(request, "alerts.html", values, token=token, status_code=exc.status_code)
    return RedirectResponse("/alerts?%s=%d" % (outcome, alert_id), status_code=303)
