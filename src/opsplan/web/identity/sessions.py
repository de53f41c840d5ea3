"""Server-side sessions: the browser holds a random id, the state DB only its SHA-256.

A session ends when idle longer than `idle`, when older than `absolute`, at logout, or when it
is revoked (the user's password or role changed, the user was disabled, an admin ended it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opsplan.web.identity.models import LoginSession, User

# The idle clock is restarted at most this often: a page that polls does not write the state DB
# on every request (the idle timeout is minutes; this is its resolution).
TOUCH_EVERY = 30.0
# Why a session ended, as stored in `end_reason`.
LOGOUT, IDLE, ABSOLUTE, REVOKED, ENDED = "logout", "idle", "absolute", "revoked", "ended"


@dataclass(frozen=True, slots=True)
class Policy:
    idle: float = 30 * 60.0
    absolute: float = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class Active:
    """A live session as a request sees it."""

    id: int
    user_id: int
    user: str
    role: str
    csrf_secret: str
    created_at: float
    last_seen_at: float
    language: str | None = None  # the user's console language; None: the plan's


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user_id: int, now: float, address: str | None = None) -> str:
    """A new session for `user_id`; returns the id to give the browser (never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(id_hash=digest(token), user_id=user_id, csrf_secret=secrets.token_urlsafe(32),
                             address=address[:100] if address else None, created_at=now, last_seen_at=now))
    return token


def lookup(session: Session, token: str, now: float, policy: Policy) -> Active | None:
    """The live session `token` names, its idle clock restarted; None (and the row ended) once expired."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(LoginSession).where(LoginSession.id_hash == digest(token)))
    if row is None or row.ended_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.created_at > policy.absolute:
        row.ended_at, row.end_reason = now, ABSOLUTE
        return None
    if now - row.last_seen_at > policy.idle:
        row.ended_at, row.end_reason = now, IDLE
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Active(row.id, user.id, user.name, user.role, row.csrf_secret, row.created_at, row.last_seen_at,
                  user.language)


def end(session: Session, token: str, now: float, reason: str = LOGOUT) -> bool:
    row = session.scalar(select(LoginSession).where(LoginSession.id_hash == digest(token)))
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.end_reason = now, reason
    return True


def end_by_id(session: Session, session_id: int, now: float, *, user_id: int | None = None) -> bool:
    """End one session by its row id (the sessions list); `user_id` limits it to that user's own."""
    row = session.get(LoginSession, session_id)
    if row is None or row.ended_at is not None or (user_id is not None and row.user_id != user_id):
        return False
    row.ended_at, row.end_reason = now, ENDED
    return True


def revoke_all(session: Session, user_id: int, now: float, *, keep: int | None = None) -> int:
    """End every live session of `user_id` but `keep` (the one a user changed their own password
    from, on the Account page); returns how many."""
    query = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    result = session.execute(query.values(ended_at=now, end_reason=REVOKED))
    return int(getattr(result, "rowcount", 0) or 0)


def live(session: Session, now: float, policy: Policy, user_id: int | None = None) -> list[dict[str, object]]:
    """The sessions not ended nor expired, newest first (for the sessions list)."""
    query = (select(LoginSession, User.name).join(User, User.id == LoginSession.user_id)
             .where(LoginSession.ended_at.is_(None)).order_by(LoginSession.created_at.desc()))
    if user_id is not None:
        query = query.where(LoginSession.user_id == user_id)
    return [{"id": row.id, "user": name, "address": row.address, "created_at": row.created_at,
             "last_seen_at": row.last_seen_at}
            for row, name in session.execute(query).all()
            if now - row.created_at <= policy.absolute and now - row.last_seen_at <= policy.idle]
