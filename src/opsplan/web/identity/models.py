"""The identity tables (Alembic branch `identity`, store/migrations/versions/identity_0001_*.py).

Nothing secret is stored as given: passwords as Argon2id hashes, session ids, API tokens and
recovery codes as SHA-256 digests (they are random and long, so a plain digest is enough). The
TOTP secret must be readable to check a code, so it is the one value kept as is: the state DB
is a 0600 file (or a database server with its own access control).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.store.state import Base

ROLES = ("viewer", "operator", "admin")  # each role may do what the ones before it may


def role_at_least(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may (viewer < operator < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


class User(Base):
    __tablename__ = "identity_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The last TOTP time step accepted: a code is good once, not for its whole 30 s window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)  # None: the plan's language
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class RecoveryCode(Base):
    __tablename__ = "identity_recovery_codes"
    __table_args__ = (Index("ix_identity_recovery_codes_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("identity_users.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class LoginSession(Base):
    __tablename__ = "identity_sessions"
    __table_args__ = (Index("ix_identity_sessions_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the browser's cookie
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("identity_users.id"))
    csrf_secret: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)


class LoginThrottle(Base):
    """Failed logins per subject (a user name's digest, or a client address) in the current window."""

    __tablename__ = "identity_throttle"

    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[float] = mapped_column(Float)
    blocked_until: Mapped[float] = mapped_column(Float, default=0.0)


class ApiToken(Base):
    __tablename__ = "identity_tokens"
    __table_args__ = (Index("ix_identity_tokens_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("identity_users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))  # read or write
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
