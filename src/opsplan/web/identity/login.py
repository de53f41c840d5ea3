"""One login attempt: throttle, password, second factor, session; each attempt audited.

The answer to a refused login never says whether the user exists: a wrong name, a wrong
password, a disabled user and a wrong code all read "wrong name or password" (`bad`), and a
throttled attempt reads "too many failures" (`throttled`) for a name that exists or not.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.store.state import StateDB
from opsplan.web.identity import passwords, sessions, throttle, totp, trail
from opsplan.web.identity.models import RecoveryCode, User

OK, BAD, THROTTLED, NEED_CODE = "ok", "bad", "throttled", "need_code"
# Each Argon2id check holds 64 MiB for a few tens of milliseconds: a burst of logins from many
# addresses waits its turn instead of taking the web server's whole thread pool and memory.
CONCURRENT_CHECKS = 2


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str  # OK, BAD, THROTTLED or NEED_CODE (right password, a TOTP code is required)
    session_token: str | None = None
    user: str | None = None
    role: str | None = None
    retry_after: float | None = None  # seconds, when THROTTLED


class Login:
    def __init__(self, state_db: StateDB, data_dir: Path | None, clock: Callable[[], float],
                 hasher: PasswordHasher | None = None):
        self.db, self.data_dir, self.clock = state_db, data_dir, clock
        self.hasher = hasher or passwords.hasher()
        self._checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)

    def attempt(self, name: str, password: str, *, code: str | None = None,
                address: str | None = None) -> Outcome:
        now = self.clock()
        subjects = throttle.Subjects.of(name, address)
        with self.db.session() as session:
            until = throttle.blocked_until(session, subjects, now)
        if until is not None:
            self._audit(now, name, "login.failed", "throttled", address)
            return Outcome(THROTTLED, retry_after=until - now)
        with self.db.session() as session:
            user = session.scalar(select(User).where(User.name == name[:100]))
            if user is not None and user.name != name:
                user = None  # MariaDB's collation ignores case and trailing spaces; the others do not
            with self._checks:
                checked = passwords.check(user.password_hash if user is not None else None, password, self.hasher)
            good = checked.ok and user is not None and not user.disabled
            if good and user is not None and checked.rehashed is not None:
                user.password_hash = checked.rehashed  # parameters changed since it was hashed
            if good and user is not None and user.totp_secret is not None:
                if not code:
                    # The password was right: not a failure, but no session before the second factor.
                    return Outcome(NEED_CODE)
                good = self._second_factor(session, user, code, now)
            if not good or user is None:
                throttle.failed(session, subjects, now)
            else:
                throttle.succeeded(session, subjects)
                token = sessions.start(session, user.id, now, address)
                outcome = Outcome(OK, token, user.name, user.role)
        if not good or user is None:
            self._audit(now, name, "login.failed", "bad", address)
            return Outcome(BAD)
        self._audit(now, name, "login", "ok", address)
        return outcome

    def confirm_password(self, name: str, password: str, *, address: str | None = None) -> str:
        """OK when `password` is the logged-in user's own (asked again before a dangerous action),
        BAD otherwise, THROTTLED while their logins are throttled. A wrong password counts in the
        login throttle, so the form cannot be used to guess passwords faster than /login. The caller
        audits the refusal in its own words (e.g. "restore.refused")."""
        now = self.clock()
        subjects = throttle.Subjects.of(name, address)
        with self.db.session() as session:
            if throttle.blocked_until(session, subjects, now) is not None:
                return THROTTLED
            user = session.scalar(select(User).where(User.name == name[:100]))
            if user is not None and user.name != name:
                user = None  # MariaDB's collation ignores case and trailing spaces; the others do not
            with self._checks:
                checked = passwords.check(user.password_hash if user is not None else None, password, self.hasher)
            if checked.ok and user is not None and not user.disabled:
                return OK
            throttle.failed(session, subjects, now)
        return BAD

    def logout(self, token: str) -> bool:
        now = self.clock()
        with self.db.session() as session:
            active = sessions.lookup(session, token, now, sessions.Policy(float("inf"), float("inf")))
            ended = sessions.end(session, token, now)
        if ended and active is not None:
            trail.write(self.db, self.data_dir, at=now, actor=active.user, action="logout")
        return ended

    @staticmethod
    def _second_factor(session: Session, user: User, code: str, now: float) -> bool:
        return second_factor(session, user, code, now)

    def _audit(self, now: float, name: str, action: str, outcome: str, address: str | None) -> None:
        # A name that is no user's may be a password typed in the wrong field: the entry names no
        # actor then, only a short digest of what was typed (repeated tries still show as one).
        with self.db.session() as session:
            known = session.scalar(select(User.name).where(User.name == name[:100])) == name
        arguments: dict[str, object] = {"address": address} if address else {}
        if not known:
            arguments["unknown_name_sha256"] = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        trail.write(self.db, self.data_dir, at=now, actor=name if known else "-", action=action,
                    outcome=outcome, arguments=arguments or None)


def second_factor(session: Session, user: User, code: str, now: float) -> bool:
    """Whether `code` is the user's TOTP code now (used once) or an unused recovery code (used up)."""
    step = totp.matching_step(user.totp_secret or "", code, now, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        return True
    recovery = session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == totp.code_digest(code),
        RecoveryCode.used_at.is_(None)))
    if recovery is None:
        return False
    recovery.used_at = now  # single use
    return True
