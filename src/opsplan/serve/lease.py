"""One active `serve` per plan: the lease thread, and the role (active or standby) it gives.

Every `serve` of a plan (a standby on a second machine, a restarted process overlapping the old
one) runs this thread against the shared state database (store/lease.py). The holder renews the
lease every `interval / 4` for `1.5 × interval`; a standby looks as often and takes an expired
lease, so a holder killed with SIGKILL is replaced within 1.75 collection intervals.

The holder counts itself active only until its last renewal's expiry (by its own monotonic
clock): a holder that cannot reach the database stops acting before anyone may take over. What
must never happen twice (an outbox row's claim) also checks the token in its own transaction
(`holds`). A transition runs the stages' `on_active` work first (read what the last holder left),
then says so once in the log.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

from opsplan.store import lease as rows
from opsplan.store.health import disk_full
from opsplan.store.state import StateDB

log = logging.getLogger("opsplan.serve")

ACTIVE, STANDBY = "active", "standby"
MIN_TTL = 1.5  # seconds: a one-second test interval must not flap on a busy machine


class Lease:
    def __init__(self, db: StateDB, plan: str, *, interval: float, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, host: str | None = None):
        self.db = db
        self.plan = plan
        self.ttl = max(1.5 * interval, MIN_TTL)
        self.every = self.ttl / 6  # interval / 4
        self.clock = clock
        self.monotonic = monotonic
        self.me = rows.Holder(uuid.uuid4().hex, host or socket.gethostname(), os.getpid())
        self.token: int | None = None
        self.takeovers = 0
        self._valid_until = -1.0  # monotonic: the end of our last renewal's lease
        self._active = threading.Event()
        self._stop = threading.Event()
        self._on_active: list[Callable[[], None]] = []
        self._role_logged: str | None = None

    # --- what the rest of serve reads ------------------------------------------------------------

    def on_active(self, callback: Callable[[], None]) -> None:
        """Run `callback` each time this serve becomes the active one, before it acts as such."""
        self._on_active.append(callback)

    def is_active(self) -> bool:
        return self._active.is_set() and self.monotonic() < self._valid_until

    def role(self) -> str:
        return ACTIVE if self.is_active() else STANDBY

    def wait_active(self, timeout: float) -> bool:
        return self._active.wait(timeout) and self.is_active()

    def holds(self, session: Session) -> bool:
        """In the caller's transaction: whether this serve still holds the lease (fencing)."""
        token = self.token
        return token is not None and self.is_active() and rows.holds(session, self.plan, token)

    # --- the thread ------------------------------------------------------------------------------

    def try_once(self) -> str:
        """Take or renew the lease once; returns the role it leaves this serve in."""
        started = self.monotonic()
        try:
            with self.db.session() as session:
                token = rows.take_or_renew(session, self.plan, self.me, self.clock(), self.ttl, self._gone)
                holder = rows.read(session, self.plan) if token is None else None
        except Exception as exc:  # noqa: BLE001 - a database away: the lease runs out on its own
            if self._active.is_set() and disk_full(exc):
                # A full disk refuses every writer's takeover too: the holder goes on acting (alerts
                # and notifications from memory), as a single serve does on a full disk.
                self._valid_until = started + self.ttl
                log.debug("lease not renewed (a full disk); still the active serve: %s", exc)
                return self.role()
            if self._active.is_set() and self.monotonic() >= self._valid_until:
                self._demote(f"the state database cannot be reached ({type(exc).__name__})")
            log.debug("lease not renewed: %s", exc)
            return self.role()
        if token is None:
            if self._active.is_set():
                self._demote("another serve holds the plan's lease")
            self.token = None
            self._say_standby(holder)
            return STANDBY
        self._valid_until = started + self.ttl
        if token != self.token or not self._active.is_set():
            self.token = token
            self._promote()
        return ACTIVE

    def run(self) -> None:
        while not self._stop.is_set():
            self.try_once()
            self._stop.wait(self.every)

    def request_stop(self) -> None:
        self._stop.set()

    def release(self) -> None:
        """At a clean stop: give the lease up so a standby takes over at its next look."""
        token, self.token = self.token, None
        self._active.clear()
        if token is None:
            return
        try:
            with self.db.session() as session:
                rows.release(session, self.plan, self.me, token)
        except Exception as exc:  # noqa: BLE001 - then it expires
            log.warning("the plan's lease was not released (%s); a standby takes over when it expires",
                        type(exc).__name__)
        else:
            log.info("the plan's lease released: a standby takes over")

    def _gone(self, seen: rows.Seen) -> bool:
        """A holder on this very host whose process has ended (a crash, SIGKILL, then systemd's
        restart): waiting out its lease would only leave the plan without an active serve."""
        if seen.host != self.me.host[:255] or seen.pid == self.me.pid or seen.pid <= 0:
            return False
        try:
            os.kill(seen.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # it exists under another user: alive
            return False
        return False

    # --- transitions -----------------------------------------------------------------------------

    def _promote(self) -> None:
        for callback in self._on_active:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one stage's catch-up must not keep the others from acting
                log.exception("taking over: %s failed", getattr(callback, "__qualname__", callback))
        self.takeovers += 1
        self._active.set()
        self._role_logged = ACTIVE
        log.warning("this serve is now the active one for plan %s (lease token %d): it delivers notifications, "
                    "pages and runs the scheduled jobs", self.plan, self.token)

    def _demote(self, why: str) -> None:
        self._active.clear()
        self.token = None
        self._role_logged = STANDBY
        log.error("this serve is a standby now: %s; it stops delivering, paging and running jobs", why)

    def _say_standby(self, holder: rows.Seen | None) -> None:
        if self._role_logged == STANDBY:
            return
        self._role_logged = STANDBY
        who = f"{holder.host} pid {holder.pid}" if holder is not None else "another serve"
        log.warning("this serve is a standby for plan %s: %s holds its lease; it collects and serves reads, "
                    "and takes over if that serve stops renewing", self.plan, who)
