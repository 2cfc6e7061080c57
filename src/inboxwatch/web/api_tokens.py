"""`/api/v1/tokens`: API token management for admins. A new token is returned once and never again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from inboxwatch.store.audit import record_audit
from inboxwatch.store.tokens import ROLES, ApiToken, TokenNotFoundError, create_token, list_tokens, revoke_token
from inboxwatch.web.auth import require_admin
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.responses import AUTHENTICATION, NOT_FOUND
from inboxwatch.web.params import RowId

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=AUTHENTICATION)


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: str = Field(pattern="^(%s)$" % "|".join(ROLES))


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@router.get("", summary="List active tokens", dependencies=[Depends(require_admin)])
def get_tokens(context: WebContext = Depends(web_context)) -> dict[str, Any]:
    with context.engine.connect() as conn:
        return {"tokens": [token_json(token) for token in list_tokens(conn)]}


@router.post("", summary="Create a token; the response is the only place its text appears", status_code=201)
def post_token(new: NewToken, caller: ApiToken = Depends(require_admin), context: WebContext = Depends(web_context)) -> dict[str, Any]:
    now = context.clock()
    with context.engine.begin() as conn:
        stored, text = create_token(conn, name=new.name, role=new.role, now=now)
        record_audit(conn, actor="token:%s" % caller.name, action="token.create", target="token:%d" % stored.id, now=now, detail={"name": new.name, "role": new.role})
    return {**token_json(stored), "token": text}


@router.delete("/{token_id}", summary="Revoke a token", responses=NOT_FOUND)
def delete_token(token_id: RowId, caller: ApiToken = Depends(require_admin), context: WebContext = Depends(web_context)) -> dict[str, Any]:
    now = context.clock()
    try:
        with context.engine.begin() as conn:
            revoked = revoke_token(conn, token_id, now)
            record_audit(conn, actor="token:%s" % caller.name, action="token.revoke", target="token:%d" % token_id, now=now)
    except TokenNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return token_json(revoked)
