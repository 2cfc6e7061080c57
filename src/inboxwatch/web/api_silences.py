"""`/api/v1/silences`: list, create and expire silences that mute matching alerts.

Creating and expiring need the operator role and are written to the audit
log in the same transaction as the change. A silence mutes alerts from the
next evaluation on, as one added with `inboxwatch silences add` does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, WithJsonSchema

from inboxwatch.alerting.silences import silence_status
from inboxwatch.config.durations import DURATION_PATTERN, MAX_DURATION, Duration, format_duration
from inboxwatch.model.matchers import MatcherError, parse_matcher
from inboxwatch.store.audit import record_audit
from inboxwatch.store.silences import SilenceNotFoundError, add_silence, expire_silence, list_silences
from inboxwatch.store.tokens import ApiToken
from inboxwatch.web.auth import require_operator, require_viewer
from inboxwatch.web.context import WebContext, web_context
from inboxwatch.web.params import RowId, bounded_time
from inboxwatch.web.responses import AUTHENTICATION, BAD_REQUEST, NOT_FOUND

router = APIRouter(prefix="/api/v1/silences", tags=["silences"], responses=AUTHENTICATION)

# How long a silence lasts when the request gives neither `ends_at` nor `duration`, as in the CLI.
DEFAULT_DURATION = timedelta(hours=1)

# Bounds on a request body, so one call cannot store an unbounded row.
MAX_MATCHERS = 32
MAX_MATCHER_LENGTH = 1000

# The schema of `duration`: the configuration file's form, not ISO 8601 (`PT2H` is rejected).
DURATION_SCHEMA = {
    "type": "string",
    "pattern": "^%s$" % DURATION_PATTERN.pattern,
    "description": "Whole numbers with units s, m, h, d, such as 30m, 2h or 1d12h; more than 0s and at most %s" % format_duration(MAX_DURATION),
    "examples": ["2h"],
}


class NewSilence(BaseModel):
    """The body of a create call. Naive times are UTC; `starts_at` defaults to now."""

    matchers: list[str] = Field(min_length=1, max_length=MAX_MATCHERS, description="Label matchers such as provider=\"gmail\"; all must match")
    comment: str = Field(min_length=1, max_length=2000, description="Why the silence exists; required")
    starts_at: datetime | None = Field(None, description="ISO 8601; default now")
    ends_at: datetime | None = Field(None, description="ISO 8601; give this or duration, not both")
    duration: Annotated[Duration, WithJsonSchema(DURATION_SCHEMA)] | None = Field(None, description="Default 1h when ends_at is not given")


def silence_json(silence: dict[str, Any], now: datetime) -> dict[str, Any]:
    data = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in silence.items()}
    data["status"] = silence_status(silence["starts_at"], silence["ends_at"], now)
    return data


@router.get("", summary="List silences, oldest first", dependencies=[Depends(require_viewer)])
def get_silences(
    include_expired: bool = Query(False, alias="all", description="Include expired silences; by default only active and pending ones"),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    now = context.clock()
    with context.engine.connect() as conn:
        silences = list_silences(conn, ending_after=None if include_expired else now)
    return {"silences": [silence_json(silence, now) for silence in silences]}


@router.post("", summary="Create a silence", status_code=201, responses=BAD_REQUEST)
def post_silence(
    new: NewSilence,
    token: ApiToken = Depends(require_operator),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    for text in new.matchers:
        if len(text) > MAX_MATCHER_LENGTH:
            raise HTTPException(400, "invalid matcher: longer than %d characters" % MAX_MATCHER_LENGTH)
        try:
            parse_matcher(text)
        except MatcherError as exc:
            message = str(exc)
            # Some MatcherErrors quote the matcher already; others name only the part that failed.
            if not message.startswith("invalid matcher"):
                message = "invalid matcher %r: %s" % (text, message)
            raise HTTPException(400, message) from None
    if new.ends_at is not None and new.duration is not None:
        raise HTTPException(400, "ends_at and duration both set the end: give one of them")
    if new.duration is not None and new.duration <= timedelta(0):
        raise HTTPException(400, "invalid duration %s: expected more than 0s" % format_duration(new.duration))

    now = context.clock()
    starts_at = bounded_time(new.starts_at, "starts_at") if new.starts_at is not None else now
    if new.ends_at is not None:
        ends_at = bounded_time(new.ends_at, "ends_at")
    else:
        # MAX_TIME leaves room for MAX_DURATION, so this cannot overflow.
        ends_at = starts_at + (new.duration or DEFAULT_DURATION)
    if ends_at <= starts_at:
        raise HTTPException(
            400, "invalid silence: it would end at %s, not after its start at %s" % (ends_at.isoformat(), starts_at.isoformat())
        )
    if ends_at <= now:
        raise HTTPException(400, "invalid silence: it would end at %s, which has already passed" % ends_at.isoformat())

    actor = "token:%s" % token.name
    with context.engine.begin() as conn:
        silence_id = add_silence(
            conn, matchers=new.matchers, starts_at=starts_at, ends_at=ends_at, created_by=actor, comment=new.comment, now=now
        )
        detail = {"matchers": new.matchers, "starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(), "comment": new.comment}
        record_audit(conn, actor=actor, action="silence.create", target="silence:%d" % silence_id, now=now, detail=detail)
    silence = {
        "id": silence_id,
        "matchers": list(new.matchers),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "created_by": actor,
        "comment": new.comment,
        "created_at": now,
    }
    return silence_json(silence, now)


@router.delete("/{silence_id}", summary="Expire a silence now", responses=NOT_FOUND)
def delete_silence(
    silence_id: RowId,
    token: ApiToken = Depends(require_operator),
    context: WebContext = Depends(web_context),
) -> dict[str, Any]:
    """End the silence now; one that has already ended is returned unchanged (and the call is still audited)."""
    now = context.clock()
    actor = "token:%s" % token.name
    try:
        with context.engine.begin() as conn:
            silence = expire_silence(conn, silence_id, now)
            detail = {"ends_at": silence["ends_at"].isoformat()}
            record_audit(conn, actor=actor, action="silence.expire", target="silence:%d" % silence_id, now=now, detail=detail)
    except SilenceNotFoundError:
        raise HTTPException(404, "silence %d not found" % silence_id) from None
    return silence_json(silence, now)
