"""Keeps `serve`'s long-running threads running, and says so when one is not.

Each thread (the collection loop, the scheduler, the notifier, the Alertmanager push) runs its
component's `run()` under a `Supervised`: an exception that escapes `run()` (or a `run()` that
returns without being asked to stop) is a death. The death is reported by `problems()` (which
`/healthz` reads: 503 with the thread's name and the cause) until the thread runs again; the thread
is restarted after a backoff that doubles from 1 s to 5 min and starts over once a run has lasted
`healthy_after`. Each distinct cause is logged once, with its traceback, not once per restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsplan.serve.loop import CollectionLoop
    from opsplan.serve.scheduler import Scheduler
    from opsplan.stages.part import Worker

log = logging.getLogger("opsplan.serve")

MAX_CAUSES = 32  # distinct causes remembered per thread (for "logged once"), until a healthy run


@dataclass(frozen=True)
class Backoff:
    initial: float = 1.0
    maximum: float = 300.0
    # A run this long counts as healthy: the next death waits `initial` again, and logs again.
    healthy_after: float = 600.0

    def delay(self, deaths: int) -> float:
        """The wait before restart number `deaths` (1 for the first) since the last healthy run."""
        return min(self.initial * 2 ** min(max(deaths - 1, 0), 32), self.maximum)


def cause_of(exc: BaseException | None) -> str:
    """One line: 'ValueError: bad input', or what a run that simply returned means."""
    if exc is None:
        return "its run loop returned without being asked to stop"
    text = str(exc).splitlines()[0].strip() if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class Supervised:
    """One long-running thread. `target` runs until `stop` asks it to return."""

    def __init__(self, name: str, target: Callable[[], object], *, stop: Callable[[], object],
                 thread_name: str | None = None, backoff: Backoff = Backoff(),
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.target = target
        self.request_stop = stop
        self.backoff = backoff
        self.clock = clock
        self.restarts = 0
        self.recent_delays: deque[float] = deque(maxlen=16)  # the backoff's last waits (tests, debugging)
        self._thread = threading.Thread(target=self._supervise, name=thread_name or name, daemon=True)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._down: tuple[str, float, int] | None = None  # (cause, when it restarts, deaths), while down
        self._logged: set[str] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        try:
            self.request_stop()
        finally:
            if self._thread.is_alive():
                self._thread.join(timeout)

    def problem(self) -> str | None:
        """Why this thread is not running now, in one line; None while it runs (or was stopped)."""
        with self._lock:
            down = self._down
        if down is not None:
            cause, restart_at, deaths = down
            again = f", death {deaths} in a row" if deaths > 1 else ""
            return f"died: {cause}; restarting in {max(restart_at - self.clock(), 0):.0f} s{again}"
        if self._thread.ident is not None and not self._thread.is_alive() and not self._stopping.is_set():
            return "its thread is not running"  # the supervision itself ended: should never happen
        return None

    def _supervise(self) -> None:
        deaths = 0
        while not self._stopping.is_set():
            began = self.clock()
            failure: BaseException | None = None
            try:
                self.target()
            except BaseException as exc:  # noqa: BLE001 - whatever ends the thread is a death to report
                failure = exc
            if self._stopping.is_set():
                return
            if self.clock() - began >= self.backoff.healthy_after:
                deaths = 0  # it ran well for a long while: a new failure starts the backoff over
                self._logged.clear()
            deaths += 1
            delay = self.backoff.delay(deaths)
            self.recent_delays.append(delay)
            cause = cause_of(failure)
            with self._lock:
                self._down = (cause, self.clock() + delay, deaths)
            self._log_death(cause, failure, delay)
            del failure  # the traceback holds the dead run's frames; free them during the wait
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            with self._lock:
                self._down = None
            log.debug("thread %s restarted (restart %d)", self.name, self.restarts)

    def _log_death(self, cause: str, failure: BaseException | None, delay: float) -> None:
        if cause in self._logged:
            log.debug("thread %s died again: %s; restarting in %.0f s", self.name, cause, delay)
            return
        if len(self._logged) < MAX_CAUSES:
            self._logged.add(cause)
        exc_info = (type(failure), failure, failure.__traceback__) if failure is not None else None
        log.error("thread %s died: %s; restarting it in %.0f s (doubling up to %.0f s while it keeps dying)",
                  self.name, cause, delay, self.backoff.maximum, exc_info=exc_info)


class Supervisor:
    """Every supervised thread of one `serve`, and other named checks (cycle hooks) for `/healthz`."""

    def __init__(self, checks: Iterable[Callable[[], Mapping[str, str]]] = ()):
        self.threads: list[Supervised] = []
        self.checks = list(checks)

    def add(self, thread: Supervised) -> Supervised:
        self.threads.append(thread)
        return thread

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Newest first, as started in reverse: the scheduler and the loop before what they feed."""
        for thread in reversed(self.threads):
            try:
                thread.stop()
            except Exception:  # noqa: BLE001 - stopping one must not leave the others running
                log.exception("stopping thread %s failed", thread.name)

    def problems(self) -> dict[str, str]:
        out = {t.name: p for t in self.threads if (p := t.problem()) is not None}
        for check in self.checks:
            out.update(check())
        return out

    def summary(self) -> str | None:
        """'collection loop: died: ValueError: ...; restarting in 4 s' or None when all run."""
        return "; ".join(f"{name}: {reason}" for name, reason in self.problems().items()) or None


def supervise(loop: CollectionLoop, scheduler: Scheduler | None, workers: Iterable[Worker], *,
              backoff: Backoff = Backoff()) -> Supervisor:
    """`serve`'s threads in start order (the stages' workers, the loop, the scheduler), with the
    loop's failing cycle hooks (the alert rules, ...) as a check of their own."""
    supervisor = Supervisor(checks=[loop.hook_problems])
    for worker in workers:
        supervisor.add(Supervised(worker.name, worker.run, stop=worker.stop, thread_name=worker.thread_name,
                                  backoff=backoff))
    supervisor.add(Supervised("collection loop", loop.run, stop=loop.request_stop, thread_name="collection-loop",
                              backoff=backoff))
    if scheduler is not None and scheduler.jobs:
        supervisor.add(Supervised("scheduler", scheduler.run, stop=scheduler.request_stop, thread_name="scheduler",
                                  backoff=backoff))
    return supervisor
