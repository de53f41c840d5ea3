"""Whether opsplan can write what it must keep: what each writer last failed on, the data disk's reserve,
and a start in monitoring-only mode. `/healthz` answers 503 with `summary()` while anything is listed.

Writers (the alert engine, the notifier, the collection loop's metrics store) report every outcome:
`failed` logs once per cause and, when the disk is full, gives the reserve back so the state
database has room; `succeeded` clears the entry (and logs the recovery once).
"""

from __future__ import annotations

import errno
import logging
import threading
from typing import Any

from opsplan.store.reserve import DiskReserve

log = logging.getLogger(__name__)

SQLITE_FULL = 13
NO_SPACE = "no space left on device"


def disk_full(exc: BaseException | None) -> bool:
    """An OSError ENOSPC/EDQUOT, or SQLite's 'database or disk is full', however deeply wrapped."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        text = str(exc).lower()
        if NO_SPACE in text or "database or disk is full" in text:
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def describe(exc: BaseException) -> str:
    """One line for people: 'no space left on device' for every form of a full disk, else the first
    line of the error (SQLAlchemy's driver error without its SQL and parameters)."""
    if disk_full(exc):
        return NO_SPACE
    inner: Any = getattr(exc, "orig", None) or exc
    text = str(inner).splitlines()[0] if str(inner) else type(inner).__name__
    return text[:300]


class Persistence:
    def __init__(self, reserve: DiskReserve | None = None):
        self.reserve = reserve
        self.mode: str | None = None  # set when serve started without its state database
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}

    def failed(self, what: str, exc: BaseException) -> str:
        """Record that `what` ("state database", "metrics store") could not be written; returns the reason."""
        reason = describe(exc)
        with self._lock:
            known = self._problems.get(what)
            self._problems[what] = reason
        if known != reason:
            log.error("%s cannot be written: %s; kept in memory until it can", what, reason)
        # Only a write that was tried and failed for want of space gives the reserve back (not a
        # database known to be away, which refuses without trying).
        tried = getattr(exc, "tried", True)
        if self.reserve is not None and tried and disk_full(exc) and self.reserve.release():
            log.warning("%s: the data disk reserve was given back after: %s", what, reason)
        return reason

    def succeeded(self, what: str) -> None:
        with self._lock:
            known = self._problems.pop(what, None)
        if known is not None:
            log.warning("%s is written again (it had failed: %s)", what, known)

    def problems(self) -> dict[str, str]:
        with self._lock:
            out = dict(self._problems)
        if self.reserve is not None and self.reserve.released:
            out["data disk"] = f"{NO_SPACE}: the reserve {self.reserve.describe()} is in use; free space there"
        if self.mode:
            out["mode"] = self.mode
        return out

    def summary(self) -> str | None:
        """'state database: no space left on device; ...' or None when every write succeeds."""
        problems = self.problems()
        return "; ".join(f"{what}: {reason}" for what, reason in problems.items()) or None

    def store_paused(self) -> bool:
        """While the reserve is given back the metrics store does not write: the room is the state database's."""
        return self.reserve is not None and self.reserve.released

    def check_reserve(self) -> None:
        """Make the reserve again once there is room (called every cycle; cheap while it is in place)."""
        if self.reserve is not None and (self.reserve.released or not self.reserve.path.exists()):
            self.reserve.ensure()
