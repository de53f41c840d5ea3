"""Runs every collector once per cycle; a failing collector degrades only itself.

Collectors run side by side in threads so one slow source (a hung database, a
service at its timeout) cannot delay the others or the cycle beyond its deadline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from opsplan.collectors.base import Collector
from opsplan.metrics import CollectorStatus, Cycle, MetricSpec, Sample, counter, gauge, sample

log = logging.getLogger("opsplan.collectors")

METRICS: dict[str, MetricSpec] = {
    "opsplan_collector_up": gauge("1 when the collector's last cycle succeeded, 0 when it failed", "collector"),
    "opsplan_collector_duration_seconds": gauge("How long the collector's last cycle took", "collector",
                                                unit="seconds"),
    "opsplan_cycle_duration_seconds": gauge("How long the last whole collection cycle took", unit="seconds"),
    "opsplan_cycle_timestamp_seconds": gauge("Unix time of the last collection cycle", unit="seconds"),
    "opsplan_cycles_total": counter("Collection cycles run since opsplan started"),
}

Rollup = Callable[[list[Sample]], list[Sample]]


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


class CollectionRunner:
    """Runs the collectors, then the rollups over their combined samples."""

    def __init__(self, collectors: Sequence[Collector], *, rollups: Iterable[Rollup] = (),
                 deadline: float = 10.0, clock: Callable[[], float] = time.time):
        self.collectors = list(collectors)
        self.rollups = list(rollups)
        self.deadline = deadline
        self.clock = clock
        self.cycles = 0
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.collectors)), thread_name_prefix="collect")
        self._running: dict[str, Future[list[Sample]]] = {}
        self._last_reason: dict[str, str] = {}

    def run_once(self) -> Cycle:
        started = time.perf_counter()
        timestamp = self.clock()
        submitted: dict[str, tuple[Future[list[Sample]], float]] = {}
        statuses: list[CollectorStatus] = []
        samples: list[Sample] = []
        for collector in self.collectors:
            previous = self._running.get(collector.name)
            if previous is not None and not previous.done():
                # Still stuck in the last cycle: don't pile up threads behind it.
                statuses.append(CollectorStatus(collector.name, False, 0.0, "still running from the last cycle"))
                continue
            future = self._pool.submit(collector.collect)
            self._running[collector.name] = future
            submitted[collector.name] = (future, time.perf_counter())
        end_by = started + self.deadline
        for name, (future, began) in submitted.items():
            try:
                result = future.result(timeout=max(0.0, end_by - time.perf_counter()))
                samples.extend(result)
                statuses.append(CollectorStatus(name, True, time.perf_counter() - began))
            except FutureTimeout:
                statuses.append(CollectorStatus(name, False, self.deadline,
                                                f"timed out after {self.deadline:g}s"))
            except Exception as exc:  # noqa: BLE001 - any failure degrades only this collector
                statuses.append(CollectorStatus(name, False, time.perf_counter() - began, _short_reason(exc)))
        for rollup in self.rollups:
            try:
                samples.extend(rollup(samples))
            except Exception as exc:  # noqa: BLE001
                log.warning("rollup failed: %s", _short_reason(exc))
        self._log_changes(statuses)
        self.cycles += 1
        seconds = time.perf_counter() - started
        for status in statuses:
            samples.append(sample("opsplan_collector_up", 1 if status.up else 0, collector=status.name))
            samples.append(sample("opsplan_collector_duration_seconds", status.seconds, collector=status.name))
        samples.append(sample("opsplan_cycle_duration_seconds", seconds))
        samples.append(sample("opsplan_cycle_timestamp_seconds", timestamp))
        samples.append(sample("opsplan_cycles_total", self.cycles))
        return Cycle(timestamp, samples, seconds, statuses)

    def _log_changes(self, statuses: list[CollectorStatus]) -> None:
        # Log when a collector goes down, changes reason or comes back: not every cycle.
        for status in statuses:
            before = self._last_reason.get(status.name, "")
            if status.reason != before:
                if status.reason:
                    log.warning("collector %s is down: %s", status.name, status.reason)
                else:
                    log.info("collector %s is up again", status.name)
            self._last_reason[status.name] = status.reason

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for collector in self.collectors:
            close = getattr(collector, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001
                    log.debug("closing collector %s failed", collector.name, exc_info=True)
