"""Per-user API tokens for scripts: random, shown once, stored as SHA-256, scoped read or write,
with an optional expiry. A token acts as its user: a disabled user's tokens stop working."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.web.identity.models import ApiToken, User

PREFIX = "opsp_"  # tells a user token from the old shared token (and helps secret scanners)
SCOPES = ("read", "write")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request with a user token acts as."""

    user_id: int
    user: str
    role: str
    scope: str
    token_id: int


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, user_id: int, name: str, scope: str, now: float,
           expires_at: float | None) -> tuple[int, str]:
    """A new token; returns its id and the token itself (the only time it is seen)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user_id, name=name, token_hash=digest(token), scope=scope, created_at=now,
                   expires_at=expires_at)
    session.add(row)
    session.flush()
    return row.id, token


def authenticate(session: Session, token: str, now: float) -> Principal | None:
    """The principal `token` stands for, or None: unknown, revoked, expired, or its user disabled."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if row.last_used_at is None or now - row.last_used_at >= 60.0:  # a busy script does not write every call
        row.last_used_at = now
    return Principal(user.id, user.name, user.role, row.scope, row.id)


def listed(session: Session, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query).all())


def revoke(session: Session, token_id: int, now: float) -> ApiToken | None:
    row = session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = now
    return row
