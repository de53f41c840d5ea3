"""What dcgm-exporter watches on a GPU beyond load: Xid events, PCIe replays, persistence mode,
performance state, clocks, ECC mode, retired pages and remapped rows.

`read_health` adds them to one GPU's reading (each value on its own, through `DeviceReader`).
Xid events arrive through an NVML event set per GPU, polled without blocking (timeout 0) once a
cycle. The alert rules compare plain numbers, so growth is computed here: `Recent` turns a
counter (PCIe replays) or a stream of events (Xid) into "how many in the last `window` seconds".
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from opsplan.collectors.gpu_device import DeviceReader, Skip
from opsplan.metrics import sample

WINDOW = 900.0  # "recent" means the last 15 minutes
XID_EVENT = 0x8  # pynvml.nvmlEventTypeXidCriticalError
CLOCKS = {"graphics": "NVML_CLOCK_GRAPHICS", "sm": "NVML_CLOCK_SM", "memory": "NVML_CLOCK_MEM"}
_CLOCK_FALLBACK = {"graphics": 0, "sm": 1, "memory": 2}
MAX_EVENTS_PER_CYCLE = 1000  # a storm of Xids must not keep one GPU's read going forever


class Recent:
    """Growth of per-key counters over the last `window` seconds of the injected clock."""

    def __init__(self, clock: Callable[[], float], window: float = WINDOW):
        self._clock = clock
        self._window = window
        self._history: dict[tuple[int, str], deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()  # GPUs are read on their own threads

    def growth(self, key: tuple[int, str], value: float) -> float:
        now = self._clock()
        with self._lock:
            history = self._history.setdefault(key, deque())
            if history and value < history[-1][1]:
                history.clear()  # the counter restarted (driver reloaded): count from here
            history.append((now, value))
            # Keep the newest point at or before the window's start: it is the baseline.
            while len(history) > 1 and history[1][0] <= now - self._window:
                history.popleft()
            return max(0.0, value - history[0][1])


class XidWatch:
    """One NVML event set per GPU, registered for Xid events, drained once a cycle."""

    def __init__(self, clock: Callable[[], float], window: float = WINDOW):
        self._sets: dict[int, Any] = {}
        self._unsupported: set[int] = set()
        self._totals: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._recent = Recent(clock, window)
        self._lock = threading.Lock()

    def poll(self, reader: DeviceReader, index: int) -> None:
        nvml, handle = reader.nvml, reader.handle
        if index in self._unsupported:
            return
        event_set = self._sets.get(index)
        if event_set is None:
            try:
                event_set = nvml.nvmlEventSetCreate()
                nvml.nvmlDeviceRegisterEvents(handle, getattr(nvml, "nvmlEventTypeXidCriticalError", XID_EVENT),
                                              event_set)
            except Exception as exc:  # NotSupported on some boards: no Xid series, not an error
                if not isinstance(exc, nvml.NVMLError_NotSupported):
                    reader.note("xid_events", exc)
                self._unsupported.add(index)
                with contextlib.suppress(Exception):
                    if event_set is not None:
                        nvml.nvmlEventSetFree(event_set)
                return
            with self._lock:
                self._sets[index] = event_set
        for _ in range(MAX_EVENTS_PER_CYCLE):
            try:
                event = nvml.nvmlEventSetWait_v2(event_set, 0)
            except nvml.NVMLError_Timeout:
                break  # nothing more waiting
            except Exception as exc:
                reader.note("xid_events", exc)
                break
            self._totals[index] = self._totals.get(index, 0) + 1
            self._last[index] = int(event.eventData)
        total = self._totals.get(index, 0)
        reader.out.append(sample("opsplan_gpu_xid_events_total", total, **reader.labels))
        reader.out.append(sample("opsplan_gpu_xid_events_recent", self._recent.growth((index, "xid"), total),
                                 **reader.labels))
        if index in self._last:
            reader.out.append(sample("opsplan_gpu_xid_last_code", self._last[index], **reader.labels))

    def close(self, nvml: Any) -> None:
        """Free the event sets (before nvmlShutdown; after it they are gone anyway)."""
        with self._lock:
            sets, self._sets = self._sets, {}
            self._unsupported.clear()
        for event_set in sets.values():
            with contextlib.suppress(Exception):
                nvml.nvmlEventSetFree(event_set)


def _call(nvml: Any, function: str, *args: Any) -> Any:
    # Looked up when called, inside the read: a function missing from the package costs one value.
    return getattr(nvml, function)(*args)


def read_health(reader: DeviceReader, index: int, recent: Recent) -> None:
    nvml, handle, labels = reader.nvml, reader.handle, reader.labels
    with contextlib.suppress(Skip):
        replays = float(reader.read("pcie_replay", lambda: nvml.nvmlDeviceGetPcieReplayCounter(handle)))
        reader.out.append(sample("opsplan_gpu_pcie_replays_total", replays, **labels))
        reader.out.append(sample("opsplan_gpu_pcie_replays_recent", recent.growth((index, "replay"), replays),
                                 **labels))
    reader.emit("opsplan_gpu_persistence_mode", "persistence_mode",
                lambda: nvml.nvmlDeviceGetPersistenceMode(handle), float)
    reader.emit("opsplan_gpu_performance_state", "pstate", lambda: nvml.nvmlDeviceGetPerformanceState(handle),
                float)
    for clock, const in CLOCKS.items():
        clock_type = getattr(nvml, const, _CLOCK_FALLBACK[clock])
        reader.emit("opsplan_gpu_clock_hertz", f"clock_{clock}",
                    partial(_call, nvml, "nvmlDeviceGetClockInfo", handle, clock_type), lambda mhz: mhz * 1e6,
                    clock=clock)
    # ECC mode, so that "ECC off" is not read as "no ECC errors".
    reader.emit("opsplan_gpu_ecc_enabled", "ecc_mode", lambda: nvml.nvmlDeviceGetEccMode(handle),
                lambda modes: 1.0 if modes[0] else 0.0)
    for cause, const, default in (("single_bit", "NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS", 0),
                                  ("double_bit", "NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR", 1)):
        source = getattr(nvml, const, default)
        reader.emit("opsplan_gpu_retired_pages", "retired_pages",
                    partial(_call, nvml, "nvmlDeviceGetRetiredPages", handle, source), lambda pages: float(len(pages)),
                    cause=cause)
    reader.emit("opsplan_gpu_retired_pages_pending", "retired_pages",
                lambda: nvml.nvmlDeviceGetRetiredPagesPendingStatus(handle), lambda p: 1.0 if p else 0.0)
    # Row remapping replaced page retirement on A100 and later.
    with contextlib.suppress(Skip):
        corr, unc, pending, failure = reader.read("remapped_rows", lambda: nvml.nvmlDeviceGetRemappedRows(handle))
        reader.out.append(sample("opsplan_gpu_remapped_rows", corr, **labels, kind="correctable"))
        reader.out.append(sample("opsplan_gpu_remapped_rows", unc, **labels, kind="uncorrectable"))
        reader.out.append(sample("opsplan_gpu_row_remap_pending", 1 if pending else 0, **labels))
        reader.out.append(sample("opsplan_gpu_row_remap_failed", 1 if failure else 0, **labels))
