"""The collection loop: one cycle per interval, each written to the store before the next starts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics import Cycle
from opsplan.metrics.exposition import LatestSamples
from opsplan.store.health import Persistence

log = logging.getLogger("opsplan.serve")

STORE_PAUSED = "not written: No space left on device (the data disk's reserve is kept for the state database)"


class CollectionLoop:
    def __init__(self, runner: CollectionRunner, store: Any, latest: LatestSamples, *, interval: float,
                 store_lock: threading.Lock, maintain_every: float = 300.0,
                 after_cycle: Sequence[Callable[[Cycle], None]] = (),
                 clock: Callable[[], float] = time.monotonic, persistence: Persistence | None = None):
        self.runner = runner
        self.store = store
        self.latest = latest
        self.interval = interval
        self.store_lock = store_lock
        self.maintain_every = maintain_every
        self.clock = clock
        # Stages that work on each cycle's samples (alert rules, ...), in order.
        self.after_cycle = list(after_cycle)
        self.last_cycle: Cycle | None = None
        self.store_error: str | None = None
        self.persistence = persistence or Persistence()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="collection-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 4.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_cycle(self) -> Cycle:
        cycle = self.runner.run_once()
        # Stages (alert rules, ...) see the cycle first and may add their own samples to it, so
        # what they export is stored and scraped with the rest.
        for stage in self.after_cycle:
            try:
                stage(cycle)
            except Exception:  # noqa: BLE001 - one failing stage must not stop collection or the others
                log.exception("stage %s failed on this cycle", getattr(stage, "__name__", stage))
        self.latest.update(cycle.samples)
        self.last_cycle = cycle
        self.persistence.check_reserve()
        if self.persistence.store_paused():  # the freed reserve is the state database's
            self.store_error = STORE_PAUSED
        else:
            self._store(cycle)
        return cycle

    def _store(self, cycle: Cycle) -> None:
        try:
            with self.store_lock:
                self.store.append(cycle.timestamp, cycle.samples)
            self.store_error = None
            self.persistence.succeeded("metrics store")
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop /metrics or the status page
            if self.store_error is None:
                log.error("metrics store write failed: %s", exc)
            self.store_error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.persistence.failed("metrics store", exc)

    def _run(self) -> None:
        next_maintain = self.clock() + self.maintain_every
        next_cycle = self.clock()
        while not self._stop.is_set():
            try:
                self.run_cycle()
            except Exception:  # noqa: BLE001 - the loop itself must survive anything a cycle does
                log.exception("collection cycle failed")
            if self.clock() >= next_maintain and not self._stop.is_set():
                try:
                    with self.store_lock:
                        self.store.maintain()
                except Exception as exc:  # noqa: BLE001
                    log.error("metrics store maintenance failed: %s", exc)
                next_maintain = self.clock() + self.maintain_every
            # Fixed-rate schedule: a slow cycle shortens the next wait instead of drifting.
            next_cycle += self.interval
            now = self.clock()
            if next_cycle < now:
                next_cycle = now
            self._stop.wait(next_cycle - now)
