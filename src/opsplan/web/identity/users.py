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
from opsplan.i18n import LANGUAGES
from opsplan.store.state import StateDB
from opsplan.web.identity import passwords, sessions, throttle, totp, trail
from opsplan.web.identity.login import second_factor
from opsplan.web.identity.models import ROLES, RecoveryCode, User, role_at_least

__all__ = ["IdentityError", "UserView", "Users", "role_at_least"]

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DEFAULT_LANGUAGE = "default"  # a user's language setting that follows the plan's
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
    language: str | None = None  # None: the plan's


def _view(user: User) -> UserView:
    return UserView(user.id, user.name, user.role, user.disabled, user.totp_secret is not None, user.created_at,
                    user.language)


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

    def set_password(self, name: str, password: str, *, actor: str, keep_session: int | None = None) -> int:
        """Returns how many sessions were ended (all of the user's, but `keep_session`)."""
        _check_password(password)
        now = self.clock()
        hashed = passwords.hash_password(password, self.hasher)
        with self.db.session() as session:
            user = self._user(session, name)
            user.password_hash, user.updated_at = hashed, now
            ended = sessions.revoke_all(session, user.id, now, keep=keep_session)
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.passwd",
                    arguments={"user": name, "sessions_ended": ended})
        return ended

    def set_language(self, name: str, language: str, *, actor: str) -> None:
        """The console language of `name`: ko, en, or `default` (the plan's)."""
        if language not in (*LANGUAGES, DEFAULT_LANGUAGE):
            raise said(IdentityError, "identity.bad_language", lang=language[:20],
                       known=", ".join((*LANGUAGES, DEFAULT_LANGUAGE)))
        now = self.clock()
        with self.db.session() as session:
            user = self._user(session, name)
            user.language, user.updated_at = (None if language == DEFAULT_LANGUAGE else language), now
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.language",
                    arguments={"user": name, "language": language})

    def check_own_password(self, name: str, password: str, *, address: str | None = None) -> None:
        """Raise unless `password` is `name`'s: a logged-in user confirming a change to their own
        credentials. Failures count against the login throttle (a stolen session cannot guess on)."""
        now = self.clock()
        subjects = throttle.Subjects.of(name, address)
        with self.db.session() as session:
            until = throttle.blocked_until(session, subjects, now)
        if until is not None:
            raise said(IdentityError, "identity.password_throttled")
        with self.db.session() as session:
            user = self._user(session, name)
            good = passwords.check(user.password_hash, password, self.hasher).ok
            if good:
                throttle.succeeded(session, subjects)
            else:
                throttle.failed(session, subjects, now)
        if not good:
            trail.write(self.db, self.data_dir, at=now, actor=name, action="user.password_check", outcome="bad",
                        arguments={"address": address} if address else None)
            raise said(IdentityError, "identity.wrong_password")

    def change_own_password(self, name: str, current: str, new: str, *, keep_session: int,
                            address: str | None = None) -> int:
        """The Account page's change: the current password first, then `set_password`'s policy; every
        other session of the user ends, `keep_session` (the one asking) stays. Returns how many ended."""
        self.check_own_password(name, current, address=address)
        return self.set_password(name, new, actor=name, keep_session=keep_session)

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

    def enable_totp(self, name: str, *, actor: str, secret: str | None = None, used_step: int | None = None,
                    keep_session: int | None = None) -> tuple[str, list[str]]:
        """A new TOTP secret and recovery codes for `name` (replacing any before); shown once.
        The Account page gives the `secret` the user's app already holds and the step of the code
        that proved it (`used_step`: that code is spent), and keeps its own session."""
        now = self.clock()
        secret, codes = secret or totp.new_secret(), totp.new_recovery_codes()
        with self.db.session() as session:
            user = self._user(session, name)
            user.totp_secret, user.totp_last_step, user.updated_at = secret, used_step, now
            for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all():
                session.delete(old)
            session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.code_digest(c)) for c in codes)
            sessions.revoke_all(session, user.id, now, keep=keep_session)
        trail.write(self.db, self.data_dir, at=now, actor=actor, action="user.totp",
                    arguments={"user": name, "recovery_codes": len(codes)})
        return secret, codes

    def disable_totp(self, name: str, password: str, code: str, *, keep_session: int | None = None,
                     address: str | None = None) -> int:
        """The user's own: their password and a current code (or a recovery code) turn TOTP off;
        the recovery codes go, every other session ends. Returns how many ended."""
        self.check_own_password(name, password, address=address)
        now = self.clock()
        with self.db.session() as session:
            user = self._user(session, name)
            if user.totp_secret is None:
                raise said(IdentityError, "identity.totp_not_on")
            if not second_factor(session, user, code, now):
                good = False
            else:
                good = True
                user.totp_secret, user.totp_last_step, user.updated_at = None, None, now
                for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all():
                    session.delete(old)
                ended = sessions.revoke_all(session, user.id, now, keep=keep_session)
        if not good:
            trail.write(self.db, self.data_dir, at=now, actor=name, action="user.totp_off", outcome="bad")
            raise said(IdentityError, "identity.wrong_code")
        trail.write(self.db, self.data_dir, at=now, actor=name, action="user.totp_off",
                    arguments={"user": name, "sessions_ended": ended})
        return ended

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _user(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None or user.name != name:  # MariaDB's collation: `KIM` and `kim ` would find kim
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
