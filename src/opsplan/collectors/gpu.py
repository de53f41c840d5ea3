"""The GPUs through NVML (nvidia-ml-py), labelled with the plan's allocation groups (seed §1.2, §3.1).

- NVML is initialised once and kept across cycles; `close()` shuts it down, but never while a
  read is still inside the library (a hung call would otherwise meet a freed library).
- Each GPU is read on its own thread (kept across cycles) under its own deadline (`read_timeout`, 5 s): a GPU stuck
  in the driver is reported down (`opsplan_gpu_up 0`, `opsplan_gpu_fault_info{reason="hung"}`)
  and is not read again until its stuck call returns; the other GPUs keep reporting.
- Every NVML read is made on its own (collectors/gpu_device.py): a field the card does not
  support is left out silently, any other error (NVMLError or not) leaves out that value only.
  A GPU that is lost (`GPU is lost`, reset required), cannot be opened, or none of whose values
  could be read is down: `opsplan_gpu_up 0` with its reason in `opsplan_gpu_fault_info`.
- No driver or library (nvmlInit fails): a warning is logged once, and every cycle reports
  `opsplan_gpu_count 0` and `opsplan_gpu_missing 1` for each GPU the plan expects. The collector
  itself stays up: saying "there is no GPU" is its job. nvmlInit is retried after 2 s, then 4,
  8 ... up to `retry_interval` (5 minutes), so a boot race with the driver costs seconds.
- `OPSPLAN_FAKE_NVML=path/to.json` makes `default_nvml()` return a `FakeNvml` built from that
  file: for demos and tests only; production never sets it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

import psutil

from opsplan.collectors.gpu_device import DeviceReader, DeviceReading, fault_of, text_of
from opsplan.collectors.gpu_health import Recent, XidWatch, read_health
from opsplan.errors import CollectorError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample
from opsplan.plan.models import Plan

log = logging.getLogger(__name__)

FAKE_NVML_ENV = "OPSPLAN_FAKE_NVML"
READ_TIMEOUT = 5.0
FIRST_RETRY = 2.0

METRICS: dict[str, MetricSpec] = {
    "opsplan_gpu_utilization_ratio": gauge("Time the GPU was busy over NVML's last sample period",
                                           "gpu", "group", unit="ratio"),
    "opsplan_gpu_memory_utilization_ratio": gauge(
        "Time GPU memory was being read or written over NVML's last sample period (not how full it is)",
        "gpu", "group", unit="ratio"),
    "opsplan_gpu_memory_usage_ratio": gauge("GPU memory in use: used / total", "gpu", "group", unit="ratio"),
    "opsplan_gpu_memory_used_bytes": gauge("GPU memory allocated (without the driver's reserved part where "
                                           "the driver tells them apart)", "gpu", "group", unit="bytes"),
    "opsplan_gpu_memory_reserved_bytes": gauge("GPU memory the driver reserves for itself",
                                               "gpu", "group", unit="bytes"),
    "opsplan_gpu_memory_total_bytes": gauge("GPU memory installed", "gpu", "group", unit="bytes"),
    "opsplan_gpu_temperature_celsius": gauge("GPU core temperature", "gpu", "group", unit="celsius"),
    "opsplan_gpu_power_watts": gauge("GPU power draw", "gpu", "group", unit="watts"),
    "opsplan_gpu_power_limit_watts": gauge("Power limit the driver enforces", "gpu", "group", unit="watts"),
    "opsplan_gpu_fan_ratio": gauge("Fan speed as a fraction of its maximum", "gpu", "group", unit="ratio"),
    "opsplan_gpu_ecc_errors_total": counter(
        "ECC memory errors since the driver loaded (type: corrected or uncorrected)",
        "gpu", "group", "type"),
    "opsplan_gpu_throttled": gauge("1 while clocks are held down for this reason", "gpu", "group", "reason"),
    "opsplan_gpu_info": gauge("Always 1; the GPU's name, UUID and PCI bus id",
                              "gpu", "group", "name", "uuid", "pci_bus_id"),
    "opsplan_gpu_up": gauge("1 when NVML sees the GPU and it answers; 0 when it is lost, hung or unreadable",
                            "gpu", "group"),
    "opsplan_gpu_fault_info": gauge("1 while the GPU is down, with why (lost, hung, no_permission, unreadable)",
                                    "gpu", "group", "reason"),
    "opsplan_gpu_process_memory_bytes": gauge("GPU memory used by a compute process",
                                              "gpu", "group", "pid", "process", unit="bytes"),
    "opsplan_gpu_count": gauge("GPUs NVML sees (0 without a driver)"),
    "opsplan_gpu_expected": gauge("GPUs the plan's allocation assigns"),
    "opsplan_gpu_missing": gauge("1 when the plan expects this GPU index and NVML does not see it",
                                 "gpu", "group"),
    "opsplan_gpu_driver_info": gauge("Always 1; the NVIDIA driver version", "version"),
    # Health beyond load (collectors/gpu_health.py), as dcgm-exporter watches it.
    "opsplan_gpu_xid_events_total": counter("Xid events NVML reported for the GPU since opsplan started",
                                            "gpu", "group"),
    "opsplan_gpu_xid_events_recent": gauge("Xid events in the last 15 minutes", "gpu", "group"),
    "opsplan_gpu_xid_last_code": gauge("The code of the GPU's newest Xid event (79: fell off the bus)",
                                       "gpu", "group"),
    "opsplan_gpu_pcie_replays_total": counter("PCIe replays (link retries) since the driver loaded",
                                              "gpu", "group"),
    "opsplan_gpu_pcie_replays_recent": gauge("PCIe replays in the last 15 minutes (riser or slot trouble)",
                                             "gpu", "group"),
    "opsplan_gpu_persistence_mode": gauge("1 when the driver keeps the GPU initialised between clients",
                                          "gpu", "group"),
    "opsplan_gpu_performance_state": gauge("Performance state: 0 (P0, fastest) to 15 (slowest)", "gpu", "group"),
    "opsplan_gpu_clock_hertz": gauge("Current clock (clock: graphics, sm or memory)", "gpu", "group", "clock",
                                     unit="hertz"),
    "opsplan_gpu_ecc_enabled": gauge("1 when ECC is on (the ECC error counters mean something only then)",
                                     "gpu", "group"),
    "opsplan_gpu_retired_pages": gauge("Memory pages retired (cause: single_bit or double_bit ECC errors)",
                                       "gpu", "group", "cause"),
    "opsplan_gpu_retired_pages_pending": gauge("1 when a page waits to be retired at the next driver reload",
                                               "gpu", "group"),
    "opsplan_gpu_remapped_rows": gauge("Memory rows remapped (kind: correctable or uncorrectable errors)",
                                       "gpu", "group", "kind"),
    "opsplan_gpu_row_remap_pending": gauge("1 when a row remap waits for a GPU reset", "gpu", "group"),
    "opsplan_gpu_row_remap_failed": gauge("1 when a row remap failed (the GPU needs service)", "gpu", "group"),
}


def default_nvml(environ: Mapping[str, str] | None = None) -> Any:
    """The real pynvml module, or a FakeNvml when OPSPLAN_FAKE_NVML names a JSON file (demos, tests)."""
    env = os.environ if environ is None else environ
    fake = env.get(FAKE_NVML_ENV)
    if fake:
        from opsplan.collectors.nvml_fake import FakeNvml

        return FakeNvml.from_file(fake)
    try:
        import pynvml
    except ImportError as exc:  # nvidia-ml-py is a dependency; a broken install is the collector's failure
        raise CollectorError(f"gpu: nvidia-ml-py is not installed: {exc}") from None
    return pynvml


def container_of(pid: int, proc_root: str = "/proc") -> str | None:
    """The container id (64 hex digits, shortened to 12) in the host's /proc/PID/cgroup, if any."""
    try:
        with open(os.path.join(proc_root, str(pid), "cgroup"), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return None
    for line in text.splitlines():
        for part in reversed(line.rsplit(":", 1)[-1].split("/")):
            part = part.removeprefix("docker-").removeprefix("cri-containerd-").removesuffix(".scope")
            if len(part) == 64 and all(c in "0123456789abcdef" for c in part):
                return part[:12]
    return None


def process_name(pid: int) -> str:
    """The process name for a host PID (NVML reports host pids: psutil reads the host's /proc),
    with its container id when it runs in one; "pid N" when it is gone or hidden."""
    try:
        name = psutil.Process(pid).name() or f"pid {pid}"
    except (psutil.Error, OSError):
        return f"pid {pid}"
    container = container_of(pid)
    return f"{name} ({container})" if container else name


class _Worker:
    """One daemon thread per GPU, kept across cycles (starting four threads a cycle cost more than
    the reads). Daemon: a call stuck in the driver must not hold up the process's exit. Idle for a
    minute (a collector no longer used), the thread ends; the next read starts another."""

    IDLE = 60.0

    def __init__(self, name: str):
        self._name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[[], DeviceReading], Future[DeviceReading]] | None] = \
            queue.SimpleQueue()
        self._lock = threading.Lock()
        self._alive = False

    def submit(self, fn: Callable[[], DeviceReading]) -> Future[DeviceReading]:
        future: Future[DeviceReading] = Future()
        with self._lock:
            self._jobs.put((fn, future))
            if not self._alive:
                self._alive = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
        return future

    def stop(self) -> None:
        with self._lock:
            if self._alive:
                self._jobs.put(None)

    def _run(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._alive = False
                        return
                continue
            if job is None:
                with self._lock:
                    self._alive = False
                return
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the waiting cycle, not lost in the thread
                future.set_exception(exc)


class GpuCollector:
    """Per-GPU samples labelled gpu=<NVML index, or the plan's number when the plan pins its GPUs
    by UUID or PCI bus id>, group=<plan group or "unassigned">."""

    name = "gpu"

    def __init__(self, plan: Plan, nvml: Any = None, *, clock: Callable[[], float] = time.monotonic,
                 retry_interval: float | None = 300.0, process_name: Callable[[int], str] = process_name,
                 read_timeout: float = READ_TIMEOUT, first_retry: float = FIRST_RETRY,
                 pid_ok: Callable[[int], bool] | None = None):
        self._plan = plan
        self._nvml = nvml
        self._clock = clock
        self._retry_interval = retry_interval
        self._first_retry = first_retry
        self._retry_delay = first_retry
        self._process_name = process_name
        self._read_timeout = read_timeout
        self._pid_ok = pid_ok
        self._initialised = False
        self._next_init_at: float | None = None
        self._warned_no_driver = False
        self._logged_reads: set[tuple[int, str, str]] = set()
        self._reads: dict[int, Future[DeviceReading]] = {}  # the last read started per GPU index
        self._workers: dict[int, _Worker] = {}
        self._recent = Recent(clock)
        self._xids = XidWatch(clock)

    # --- lifecycle ------------------------------------------------------------------------------

    def _ensure_init(self) -> bool:
        if self._initialised:
            return True
        now = self._clock()
        if self._next_init_at is not None and now < self._next_init_at:
            return False
        if self._nvml is None:
            self._nvml = default_nvml()
        try:
            self._nvml.nvmlInit()
        except Exception as exc:  # NVMLError, or the library itself failing to load
            self._schedule_retry(now)
            if not self._warned_no_driver:
                self._warned_no_driver = True
                level = logging.WARNING if self._plan.monitoring.gpu_required else logging.INFO
                retrying = "" if self._retry_interval is None else \
                    f" (retrying from {self._first_retry:g}s up to every {self._retry_interval:g}s)"
                log.log(level, "gpu: NVML unavailable, reporting no GPUs%s: %s", retrying, exc)
            return False
        if self._warned_no_driver:
            log.warning("gpu: NVML available again")
        self._initialised, self._warned_no_driver, self._next_init_at = True, False, None
        self._retry_delay = self._first_retry
        return True

    def _schedule_retry(self, now: float) -> None:
        # None: a one-shot run (`collect --once`) that never tries again, so it promises no retry.
        if self._retry_interval is None:
            self._next_init_at = math.inf
            return
        delay = min(self._retry_delay, self._retry_interval)
        self._next_init_at = now + delay
        self._retry_delay = min(delay * 2, self._retry_interval)

    def _busy(self) -> bool:
        return any(not f.done() for f in self._reads.values())

    def _lose_nvml(self, exc: Exception) -> None:
        """NVML stopped answering (driver unloaded or reset): report no GPUs, re-init next cycle."""
        if not self._warned_no_driver:
            self._warned_no_driver = True
            log.warning("gpu: NVML stopped answering, reporting no GPUs: %s", exc)
        if self._busy():
            self._xids = XidWatch(self._clock)  # its sets die with this NVML session; not freed under a read
        else:  # a read still inside the library would use what shutdown frees
            self._xids.close(self._nvml)
            with contextlib.suppress(Exception):  # it is already gone; shutting down is only tidying
                self._nvml.nvmlShutdown()
        self._initialised = False
        self._next_init_at = None

    def close(self, wait: float | None = None) -> None:
        """Shut NVML down once no read is inside it; a read still stuck after `wait` seconds
        (read_timeout by default) leaves NVML up: the process exit releases it instead."""
        for worker in self._workers.values():
            worker.stop()  # after the read it may still be running
        self._workers.clear()
        if not self._initialised:
            return
        deadline = time.monotonic() + (self._read_timeout if wait is None else wait)
        for future in list(self._reads.values()):
            with contextlib.suppress(Exception):
                future.exception(timeout=max(0.0, deadline - time.monotonic()))
        if self._busy():
            log.warning("gpu: a GPU read is still stuck in the driver; not shutting NVML down under it")
            return
        self._initialised = False
        self._xids.close(self._nvml)
        try:
            self._nvml.nvmlShutdown()
        except Exception as exc:  # closing must not fail the caller's shutdown
            log.debug("gpu: nvmlShutdown: %s", exc)

    # --- collection -----------------------------------------------------------------------------

    def _group(self, index: int) -> str:
        return self._plan.group_of_gpu(index) or "unassigned"

    def _presence(self, seen: int, missing: Callable[[int], bool] | None = None) -> list[Sample]:
        expected = self._plan.expected_gpus()
        out = [sample("opsplan_gpu_count", seen), sample("opsplan_gpu_expected", len(expected))]
        is_missing = missing or (lambda i: i >= seen)
        if self._plan.monitoring.gpu_required or seen:
            for i in expected:
                out.append(sample("opsplan_gpu_missing", 1 if is_missing(i) else 0, gpu=i, group=self._group(i)))
        return out

    def _slots(self, count: int) -> dict[int, Callable[[], Any]]:
        """The plan's GPU number -> how to open it: by its pin (UUID or PCI bus id) when the plan
        pins GPUs, else by NVML index (every GPU NVML counts, the plan's and the unassigned)."""
        nvml = self._nvml
        pins = self._plan.server.gpu.pin
        if pins:
            return {i: partial(self._by_pin, pin) for i, pin in sorted(pins.items())}
        return {i: partial(nvml.nvmlDeviceGetHandleByIndex, i) for i in range(count)}

    def _by_pin(self, pin: str) -> Any:
        if pin.upper().startswith("GPU-"):
            return self._nvml.nvmlDeviceGetHandleByUUID(pin)
        bus_id = pin if pin.count(":") == 2 else f"00000000:{pin}"  # NVML wants the domain too
        return self._nvml.nvmlDeviceGetHandleByPciBusId(bus_id.upper())

    def collect(self) -> list[Sample]:
        if not self._ensure_init():
            return self._presence(0)
        nvml = self._nvml
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as exc:
            self._lose_nvml(exc)
            return self._presence(0)
        readings = self._read_all(self._slots(count))
        pinned = bool(self._plan.server.gpu.pin)
        out = self._presence(count, (lambda i: i not in readings or readings[i].missing) if pinned else None)
        try:
            out.append(sample("opsplan_gpu_driver_info", 1, version=text_of(nvml.nvmlSystemGetDriverVersion())))
        except Exception as exc:
            self._note(-1, "driver_version", exc)
        for index, reading in readings.items():
            if reading.missing:
                continue
            labels = {"gpu": str(index), "group": self._group(index)}
            out += reading.samples
            out.append(sample("opsplan_gpu_up", 0 if reading.fault else 1, **labels))
            if reading.fault:
                out.append(sample("opsplan_gpu_fault_info", 1, **labels, reason=reading.fault))
        return out

    def _read_all(self, slots: dict[int, Callable[[], Any]]) -> dict[int, DeviceReading]:
        """Every GPU on its own thread, all under one deadline; a GPU whose last read is still
        stuck is not read again (no pile of threads behind it) and is reported hung."""
        started: dict[int, Future[DeviceReading]] = {}
        readings: dict[int, DeviceReading] = {}
        for index, open_handle in slots.items():
            previous = self._reads.get(index)
            if previous is not None and not previous.done():
                readings[index] = DeviceReading(fault="hung")
                continue
            worker = self._workers.get(index)
            if worker is None:
                worker = self._workers[index] = _Worker(f"opsplan-gpu-{index}")
            future = worker.submit(partial(self._one_gpu, index, open_handle))
            self._reads[index] = started[index] = future
        end_by = time.monotonic() + self._read_timeout
        for index, future in started.items():
            try:
                readings[index] = future.result(timeout=max(0.0, end_by - time.monotonic()))
            except FutureTimeout:
                self._note(index, "device", TimeoutError(f"no answer within {self._read_timeout:g}s"))
                readings[index] = DeviceReading(fault="hung")
            except Exception as exc:  # a bug in reading one GPU must not hide the others
                self._note(index, "device", exc)
                readings[index] = DeviceReading(fault="unreadable")
        return dict(sorted(readings.items()))

    def _note(self, index: int, what: str, exc: BaseException) -> None:
        key = (index, what, type(exc).__name__)
        if key not in self._logged_reads:
            self._logged_reads.add(key)
            log.warning("gpu %d: cannot read %s: %s", index, what, exc)

    def _health(self, index: int, reader: DeviceReader) -> None:
        read_health(reader, index, self._recent)
        self._xids.poll(reader, index)

    def _one_gpu(self, index: int, open_handle: Callable[[], Any]) -> DeviceReading:
        nvml = self._nvml
        labels = {"gpu": str(index), "group": self._group(index)}
        try:
            handle = open_handle()
        except nvml.NVMLError_NotFound:
            return DeviceReading(missing=True)  # the pinned card is not on the bus
        except Exception as exc:
            self._note(index, "handle", exc)
            return DeviceReading(fault=fault_of(nvml, exc) if isinstance(exc, nvml.NVMLError) else "unreadable")
        extra = {} if self._pid_ok is None else {"pid_ok": self._pid_ok}
        reader = DeviceReader(nvml, handle, labels, lambda what, exc: self._note(index, what, exc),
                              self._process_name, extra=partial(self._health, index), **extra)
        return reader.reading()
