"""Managing users: add, change password or role, disable, enable, list; TOTP and recovery codes.

Every change is written to the audit log with the actor (the CLI's operating-system user, or the
console's logged-in admin), and a password or role change, or disabling, ends all of the user's
sessions (a session must not outlive the credentials it was opened with).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opsplan.errors import OpsplanError, said
from opsplan.store.state import StateDB
from opsplan.web.identity import passwords, sessions, totp, trail
from opsplan.web.identity.models import ROLES, RecoveryCode, User, role_at_least

__all__ = ["IdentityError", "UserView", "Users", "role_at_least"]

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
WEAK_PASSWORD = {"short": "identity.password_short", "long": "identity.password_long"}


class IdentityError(OpsplanError):
    """A user or token request that cannot be done (one line, in the plan's language)."""


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    name: str
    role: str
    disabled: bool
    totp: bool
    created_at: float


def _view(user: User) -> UserView:
    return UserView(user.id, user.name, user.role, user.disabled, user.totp_secret is not None, user.created_at)


class Users:
    """User management over one state DB. `clock` gives UTC unix seconds (tests inject one)."""

    def __init__(self, state_db: StateDB, data_dir: Path | None, clock: Callable[[], float],
                 hasher: PasswordHasher | None = None):
        self.db, self.data_dir, self.clock = state_db, data_dir, clock
        self.hasher = hasher or passwords.hasher()

    # --- reading -------------------------------------------------------------------------------
    def all(self) -> list[UserView]:
        with self.db.session() as session:
            return [_view(u) for u in session.scalars(select(User).order_by(User.name)).all()]

    def get(self, name: str) -> UserView:
        with self.db.session() as session:
            return _view(self._user(session, name))

    def count(self) -> int:
        """How many users exist: the seam for serve's rule that a non-loopback bind needs at least one."""
        with self.db.session() as session:
            return int(session.scalar(select(func.count()).select_from(User)) or 0)

    # --- changes -------------------------------------------------------------------------------
    def check_new(self, name: str, role: str) -> None:
        """Raise now what `add` would refuse for the name or role (before a password is asked)."""
        _check_name(name)
        _check_role(role)
        with self.db.session() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise said(IdentityError, "identity.user_exists", name=name)

    def add(self, name: str, role: str, password: str, *, actor: str) -> UserView:
        _check_name(name)
        _check_role(role)
        _check_password(password)
        now = self.clock()
        hashed = passwords.hash_password(password, self.hasher)
        with self.db.session() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise said(IdentityError, "identity.user_exists", name=name)
            user = User(name=name, role=role, password_hash=hashed, disabled=False, created_at=now, updated_at=now)
            session.add(user)
            session.flush()
            view = _view(user)
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.add",
                    arguments={"user": name, "role": role})
        return view

    def set_password(self, name: str, password: str, *, actor: str) -> int:
        """Returns how many sessions were ended."""
        _check_password(password)
        now = self.clock()
        hashed = passwords.hash_password(password, self.hasher)
        with self.db.session() as session:
            user = self._user(session, name)
            user.password_hash, user.updated_at = hashed, now
            ended = sessions.revoke_all(session, user.id, now)
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.passwd",
                    arguments={"user": name, "sessions_ended": ended})
        return ended

    def set_role(self, name: str, role: str, *, actor: str) -> int:
        _check_role(role)
        now = self.clock()
        with self.db.session() as session:
            user = self._user(session, name)
            if user.role == "admin" and role != "admin":
                self._keep_an_admin(session, user)
            before, user.role, user.updated_at = user.role, role, now
            ended = sessions.revoke_all(session, user.id, now)
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.role",
                    arguments={"user": name, "from": before, "to": role, "sessions_ended": ended})
        return ended

    def set_disabled(self, name: str, disabled: bool, *, actor: str) -> int:
        now = self.clock()
        ended = 0
        with self.db.session() as session:
            user = self._user(session, name)
            if disabled and user.role == "admin":
                self._keep_an_admin(session, user)
            user.disabled, user.updated_at = disabled, now
            if disabled:
                ended = sessions.revoke_all(session, user.id, now)
        trail.write(self.db, self.data_dir, at=now, actor=actor,
                    action="user.disable" if disabled else "user.enable",
                    arguments={"user": name, "sessions_ended": ended})
        return ended

    def enable_totp(self, name: str, *, actor: str) -> tuple[str, list[str]]:
        """A new TOTP secret and recovery codes for `name` (replacing any before); shown once."""
        now = self.clock()
        secret, codes = totp.new_secret(), totp.new_recovery_codes()
        with self.db.session() as session:
            user = self._user(session, name)
            user.totp_secret, user.totp_last_step, user.updated_at = secret, None, now
            for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all():
                session.delete(old)
            session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.code_digest(c)) for c in codes)
            sessions.revoke_all(session, user.id, now)
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.totp",
                    arguments={"user": name, "recovery_codes": len(codes)})
        return secret, codes

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise said(IdentityError, "identity.no_user", name=name)
        return user

    @staticmethod
    def _keep_an_admin(session: Session, leaving: User) -> None:
        """Refuse to demote or disable the last enabled admin: nobody could manage users then."""
        others = session.scalar(select(func.count()).select_from(User).where(
            User.role == "admin", User.disabled.is_(False), User.id != leaving.id))
        if not others:
            raise said(IdentityError, "identity.last_admin", name=leaving.name)


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise said(IdentityError, "identity.bad_name", name=name[:64])


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise said(IdentityError, "identity.bad_role", role=role[:32], roles=", ".join(ROLES))


def _check_password(password: str) -> None:
    reason = passwords.too_weak(password)
    if reason is not None:
        raise said(IdentityError, WEAK_PASSWORD[reason], least=passwords.MIN_LENGTH, most=passwords.MAX_LENGTH)


def any_enabled(db: StateDB) -> bool:
    """Whether at least one enabled user exists (who can log in; the login page says how to make one)."""
    with db.session() as session:
        return bool(session.scalar(select(func.count()).select_from(User).where(User.disabled.is_(False))))
