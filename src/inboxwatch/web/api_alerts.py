"""`/api/v1/alerts`: list, read, acknowledge and resolve alerts, and read their history.

Acknowledging and resolving need the operator role and are written to the
audit log in the same transaction as the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from inboxwatch.model.alerts import OPEN_STATES, Alert, AlertState
from inboxwatch.store.alerts import AlertNotFoundError, AlertStateError, acknowledge, alert_history, get_alert, list_alerts, resolve_manually
from inboxwatch.store.audit import record_audit
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.auth import require_operator, require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.params import RowId
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST, CONFLICT, NOT_FOUND

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=AUTHENTICATION)

MAX_LIMIT = 1000


class AlertChange(BaseModel):
    """The body of an acknowledge or resolve call."""

    note: str | None = Field(default=None, max_length=2000)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "tenant": alert.tenant,
        "labels": dict(alert.labels),
        "severity": alert.severity.value,
        "state": alert.state.value,
        "summary": alert.summary,
        "value": alert.value,
        "threshold": alert.threshold,
        "denominator": alert.denominator,
        "pending_since": iso(alert.pending_since),
        "fired_at": iso(alert.fired_at),
        "resolved_at": iso(alert.resolved_at),
        "acknowledged_at": iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "ack_note": alert.ack_note,
        "routes": list(alert.routes),
    }


def alert_states(text: str) -> list[AlertState]:
    if text == "open":
        return list(OPEN_STATES)
    if text == "all":
        return list(AlertState)
    states = []
    for part in text.split(","):
        try:
            states.append(AlertState(part.strip()))
        except ValueError:
            known = ", ".join(["open", "all"] + [state.value for state in AlertState])
            raise HTTPException(400, "invalid state %r: expected one or more of %s" % (part.strip(), known)) from None
    return states


@router.get("", summary="List alerts, newest first", dependencies=[Depends(require_viewer)], responses=BAD_REQUEST)
def get_alerts(
    state: str = Query("open", description="open, all, or a comma-separated list of pending, firing, acknowledged, resolved"),
    tenant: str | None = Query(None),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    with context.engine.connect() as conn:
        alerts = list_alerts(conn, alert_states(state), tenant=tenant, limit=limit)
    return {"alerts": [alert_json(alert) for alert in alerts]}


@router.get("/{alert_id}", summary="Read one alert", dependencies=[Depends(require_viewer)], responses=NOT_FOUND)
def get_one_alert(alert_id: RowId, context: WebContext = Depends(web_context)) -> dict[str, Any]:
    with context.engine.connect() as conn:
        alert = get_alert(conn, alert_id)
    if alert is None:
        raise HTTPException(404, "alert %d not found" % alert_id)
    return alert_json(alert)


@router.get("/{alert_id}/history", summary="List an alert's state changes, oldest first", dependencies=[Depends(require_viewer)], responses=NOT_FOUND)
def get_history(alert_id: RowId, context: WebContext = Depends(web_context)) -> dict[str, Any]:
    with context.engine.connect() as conn:
        if get_alert(conn, alert_id) is None:
            raise HTTPException(404, "alert %d not found" % alert_id)
        entries = alert_history(conn, alert_id)
    return {"history": [{**entry, "time": iso(entry["time"])} for entry in entries]}


@router.post("/{alert_id}/ack", summary="Acknowledge a firing alert", responses={**NOT_FOUND, **CONFLICT})
def post_ack(
    alert_id: RowId,
    change: AlertChange | None = None,
    token: ApiToken = Depends(require_operator),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    return change_alert(context, token, alert_id, "alert.acknowledge", acknowledge, change)


@router.post("/{alert_id}/resolve", summary="Resolve an open alert by hand", responses={**NOT_FOUND, **CONFLICT})
def post_resolve(
    alert_id: RowId,
    change: AlertChange | None = None,
    token: ApiToken = Depends(require_operator),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    return change_alert(context, token, alert_id, "alert.resolve", resolve_manually, change)


def change_alert(context: WebContext, token: ApiToken, alert_id: int, action: str, apply, change: AlertChange | None) -> dict[str, Any]:
    """Apply an alert change and its audit entry in one transaction; 404 for an unknown alert, 409 for a wrong state."""
    note = change.note if change else None
    actor = "token:%s" % token.name
    now = context.clock()
    try:
        with context.engine.begin() as conn:
            alert = apply(conn, alert_id, actor, note, now)
            record_audit(conn, actor=actor, action=action, target="alert:%d" % alert_id, now=now, detail={"note": note})
    except AlertNotFoundError:
        raise HTTPException(404, "alert %d not found" % alert_id) from None
    except AlertStateError as exc:
        raise HTTPException(409, str(exc)) from None
    return alert_json(alert)
