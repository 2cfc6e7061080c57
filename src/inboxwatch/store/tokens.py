"""API tokens: creation, look-up by token, listing and revocation.

A token is 32 random bytes, URL-safe base64 with an `iwk_` prefix so that
secret scanners and people recognise it. Only its sha256 hex is stored: a
stolen database does not give working tokens, and since a token has 256
random bits no salt or slow hash is needed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa

from inboxwatch.errors import InboxwatchError
from inboxwatch.store.db import as_utc
from inboxwatch.store.schema import api_tokens

TOKEN_PREFIX = "iwk_"
TOKEN_BYTES = 32

# Roles in increasing order of power; each role may do what the ones before it may.
ROLES = ("viewer", "operator", "admin")


class TokenNotFoundError(InboxwatchError):
    """No active API token has the requested id."""


@dataclasses.dataclass(frozen=True)
class ApiToken:
    """A stored API token, without the token itself."""

    id: int
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, role: str) -> bool:
        """Return True when this token's role includes `role`."""
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(conn: sa.Connection, *, name: str, role: str, now: datetime) -> tuple[ApiToken, str]:
    """Store a new token for `role` and return it with the token text, which is not stored."""
    if role not in ROLES:
        raise ValueError("invalid role %r: expected one of %s" % (role, ", ".join(ROLES)))
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    values = {"name": name, "role": role, "token_sha256": hash_token(token), "created_at": as_utc(now)}
    token_id = conn.execute(api_tokens.insert().values(values).returning(api_tokens.c.id)).scalar_one()
    stored = ApiToken(id=token_id, name=name, role=role, created_at=as_utc(now), last_used_at=None, revoked_at=None)
    return stored, token


def find_token(conn: sa.Connection, token: str) -> ApiToken | None:
    """Return the active (unrevoked) token whose text is `token`, or None."""
    query = sa.select(api_tokens).where(api_tokens.c.token_sha256 == hash_token(token)).where(api_tokens.c.revoked_at.is_(None))
    row = conn.execute(query).first()
    return token_from_row(row) if row is not None else None


def touch_token(conn: sa.Connection, token_id: int, now: datetime) -> None:
    """Record that the token was used at `now`."""
    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=as_utc(now)))


def list_tokens(conn: sa.Connection, *, include_revoked: bool = False) -> list[ApiToken]:
    query = sa.select(api_tokens).order_by(api_tokens.c.id)
    if not include_revoked:
        query = query.where(api_tokens.c.revoked_at.is_(None))
    return [token_from_row(row) for row in conn.execute(query)]


def revoke_token(conn: sa.Connection, token_id: int, now: datetime) -> ApiToken:
    """Revoke an active token; raises TokenNotFoundError when no active token has `token_id`."""
    result = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.id == token_id)
        .where(api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=as_utc(now))
    )
    if result.rowcount != 1:
        raise TokenNotFoundError("API token %d not found or already revoked; `inboxwatch tokens list` shows the active ones" % token_id)
    row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).one()
    return token_from_row(row)


def token_from_row(row) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        role=row.role,
        created_at=as_utc(row.created_at),
        last_used_at=as_utc(row.last_used_at) if row.last_used_at is not None else None,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at is not None else None,
    )
