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
# A cycle hook (the alert rules, ...) that fails this many cycles in a row makes /healthz answer 503.
HOOK_FAILURES_UNHEALTHY = 3


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
        self.hook_health = HookHealth()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="collection-loop", daemon=True)

    def start(self) -> None:
        """Run on a thread of its own (`serve` runs `run` under its supervisor instead)."""
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self, timeout: float = 4.0) -> None:
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def hook_problems(self) -> dict[str, str]:
        return self.hook_health.problems()

    def run_cycle(self) -> Cycle:
        cycle = self.runner.run_once()
        # Stages (alert rules, ...) see the cycle first and may add their own samples to it, so
        # what they export is stored and scraped with the rest.
        for stage in self.after_cycle:
            name = getattr(stage, "__name__", repr(stage))
            try:
                stage(cycle)
            except Exception as exc:  # noqa: BLE001 - one failing stage must not stop collection or the others
                self.hook_health.failed(name, exc)
            else:
                self.hook_health.succeeded(name)
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

    def run(self) -> None:
        """Cycles until `request_stop`; what a cycle raises is logged and the next cycle runs."""
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


class HookHealth:
    """Per cycle hook: how many cycles in a row it failed and why. A cause is logged (with its
    traceback) once, not every cycle; `problems()` lists hooks failing HOOK_FAILURES_UNHEALTHY
    cycles in a row, which /healthz reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, tuple[int, str]] = {}  # hook -> (cycles in a row, last cause)

    def failed(self, hook: str, exc: Exception) -> None:
        text = str(exc).splitlines()[0][:200] if str(exc).strip() else ""
        cause = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        with self._lock:
            count, known = self._failing.get(hook, (0, None))
            self._failing[hook] = (count + 1, cause)
        if known != cause:
            log.error("cycle hook %s failed: %s; it runs again every cycle, this cause is logged once",
                      hook, cause, exc_info=exc)

    def succeeded(self, hook: str) -> None:
        with self._lock:
            count, cause = self._failing.pop(hook, (0, None))
        if count:
            log.warning("cycle hook %s works again (it had failed %d cycle(s) in a row: %s)", hook, count, cause)

    def problems(self) -> dict[str, str]:
        with self._lock:
            failing = dict(self._failing)
        return {f"cycle hook {hook}": f"failed {count} cycles in a row: {cause}"
                for hook, (count, cause) in failing.items() if count >= HOOK_FAILURES_UNHEALTHY}
