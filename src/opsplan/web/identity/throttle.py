"""Login throttling per user name and per client address, kept in the state DB so a restart does
not reset it. After `LIMIT` failures within `WINDOW`, the subject is refused for a delay that
doubles with each further failure (up to `MAX_DELAY`). A good login clears the user's count."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.orm import Session

from opsplan.web.identity.models import LoginThrottle

LIMIT = 5
WINDOW = 15 * 60.0
FIRST_DELAY = 60.0
MAX_DELAY = 3600.0


@dataclass(frozen=True, slots=True)
class Subjects:
    """The throttle rows one login attempt counts against."""

    user: str
    address: str | None

    @classmethod
    def of(cls, name: str, address: str | None) -> Subjects:
        # The name's digest: the table never lists the names people tried (often a password typed
        # in the wrong field).
        digest = hashlib.sha256(name.strip().lower().encode("utf-8")).hexdigest()[:64]
        return cls(user=f"u:{digest}", address=f"a:{address[:100]}" if address else None)

    def all(self) -> list[str]:
        return [self.user] + ([self.address] if self.address else [])


def blocked_until(session: Session, subjects: Subjects, now: float) -> float | None:
    """The time until which this attempt is refused, or None when it may go ahead."""
    until = 0.0
    for subject in subjects.all():
        row = session.get(LoginThrottle, subject)
        if row is not None and row.blocked_until > now:
            until = max(until, row.blocked_until)
    return until or None


def failed(session: Session, subjects: Subjects, now: float) -> None:
    for subject in subjects.all():
        row = session.get(LoginThrottle, subject)
        if row is None:
            row = LoginThrottle(subject=subject, failures=0, window_start=now, blocked_until=0.0)
            session.add(row)
        elif now - row.window_start > WINDOW and row.blocked_until <= now:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= LIMIT:
            row.blocked_until = now + min(MAX_DELAY, FIRST_DELAY * 2 ** (row.failures - LIMIT))


def succeeded(session: Session, subjects: Subjects) -> None:
    row = session.get(LoginThrottle, subjects.user)
    if row is not None:
        session.delete(row)
