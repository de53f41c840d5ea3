"""Figures a collector reads from the state database, kept between cycles.

Catalog figures (the newest backup, the binlog archive, the newest drill) change only when a
backup, an archiving pass or a drill runs. Reading them each cycle cost an idle `serve` more than
collecting the machine's own metrics, so a collector keeps its last reading:

* while one of its stage's jobs runs in this process (`watch(jobs)`), and when one starts or
  ends, the next cycle reads again (a running backup shows as running);
* otherwise the reading is used for up to `max_age` seconds: a backup run from the command line
  (another process) shows within that long.

`max_age` 0 reads every time: what `opsplan collect` and a collector built on its own do.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from opsplan.jobs import Job

T = TypeVar("T")

# How long `serve` uses a catalog reading while none of its own jobs ran: a backup or drill run from
# the command line shows on /metrics (and in the alert rules) within this long.
SERVE_MAX_AGE = 60.0


class CachedReading(Generic[T]):
    """`read()`'s last answer, for up to `max_age` seconds of `clock` (a clock that went back reads again)."""

    def __init__(self, read: Callable[[], T], *, max_age: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self._read = read
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._value: tuple[float, T] | None = None  # (when read, what)
        self._jobs_running = 0
        self.reads = 0  # how many times the database was read (tests)

    def get(self) -> T:
        now = self._clock()
        with self._lock:
            known = self._value
            fresh = known is not None and not self._jobs_running and 0 <= now - known[0] < self.max_age
        if fresh and known is not None:
            return known[1]
        value = self._read()  # outside the lock: a slow database must not block invalidate()
        self.reads += 1
        with self._lock:
            self._value = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._value = None

    def job_started(self) -> None:
        with self._lock:
            self._jobs_running += 1
            self._value = None

    def job_ended(self) -> None:
        with self._lock:
            self._jobs_running = max(self._jobs_running - 1, 0)
            self._value = None


def watch(jobs: Iterable[Job], readings: Iterable[CachedReading[Any]]) -> list[Job]:
    """The jobs, each telling `readings` when it starts and ends (the figures they read change then)."""
    readings = list(readings)

    def watched(run: Callable[[], object]) -> Callable[[], object]:
        def run_and_tell() -> object:
            for reading in readings:
                reading.job_started()
            try:
                return run()
            finally:
                for reading in readings:
                    reading.job_ended()
        return run_and_tell

    return [dataclasses.replace(job, run=watched(job.run)) for job in jobs]
