"""The GPUs through NVML (nvidia-ml-py), labelled with the plan's allocation groups (seed §1.2, §3.1).

- NVML is initialised once and kept across cycles; `close()` shuts it down.
- Every NVML read is made on its own: a field the card does not support (NotSupported) is
  left out silently; any other error leaves out that value only (logged once per GPU and field),
  and a GPU none of whose values could be read reports `opsplan_gpu_up 0`. One GPU never hides
  another.
- No driver or library (nvmlInit fails): a warning is logged once, and every cycle reports
  `opsplan_gpu_count 0` and `opsplan_gpu_missing 1` for each GPU the plan expects. The collector
  itself stays up: saying "there is no GPU" is its job. nvmlInit is retried at most every
  `retry_interval` seconds (5 minutes by default) in case the driver comes up.
- `OPSPLAN_FAKE_NVML=path/to.json` makes `default_nvml()` return a `FakeNvml` built from that
  file: for demos and tests only; production never sets it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import psutil

from opsplan.errors import CollectorError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, labels_of, sample
from opsplan.plan.models import Plan

log = logging.getLogger(__name__)

FAKE_NVML_ENV = "OPSPLAN_FAKE_NVML"

METRICS: dict[str, MetricSpec] = {
    "opsplan_gpu_utilization_ratio": gauge("Time the GPU was busy over NVML's last sample period",
                                           "gpu", "group", unit="ratio"),
    "opsplan_gpu_memory_utilization_ratio": gauge(
        "Time GPU memory was being read or written over NVML's last sample period (not how full it is)",
        "gpu", "group", unit="ratio"),
    "opsplan_gpu_memory_usage_ratio": gauge("GPU memory in use: used / total", "gpu", "group", unit="ratio"),
    "opsplan_gpu_memory_used_bytes": gauge("GPU memory in use", "gpu", "group", unit="bytes"),
    "opsplan_gpu_memory_total_bytes": gauge("GPU memory installed", "gpu", "group", unit="bytes"),
    "opsplan_gpu_temperature_celsius": gauge("GPU core temperature", "gpu", "group", unit="celsius"),
    "opsplan_gpu_power_watts": gauge("GPU power draw", "gpu", "group", unit="watts"),
    "opsplan_gpu_power_limit_watts": gauge("Power limit the driver enforces", "gpu", "group", unit="watts"),
    "opsplan_gpu_fan_ratio": gauge("Fan speed as a fraction of its maximum", "gpu", "group", unit="ratio"),
    "opsplan_gpu_ecc_errors_total": counter(
        "ECC memory errors since the driver loaded (type: corrected or uncorrected)",
        "gpu", "group", "type"),
    "opsplan_gpu_throttled": gauge("1 while clocks are held down for this reason", "gpu", "group", "reason"),
    "opsplan_gpu_info": gauge("Always 1; the GPU's name and UUID", "gpu", "group", "name", "uuid"),
    "opsplan_gpu_up": gauge("1 when NVML sees the GPU and at least one of its values could be read",
                            "gpu", "group"),
    "opsplan_gpu_process_memory_bytes": gauge("GPU memory used by a compute process",
                                              "gpu", "group", "pid", "process", unit="bytes"),
    "opsplan_gpu_count": gauge("GPUs NVML sees (0 without a driver)"),
    "opsplan_gpu_expected": gauge("GPUs the plan's allocation assigns"),
    "opsplan_gpu_missing": gauge("1 when the plan expects this GPU index and NVML does not see it",
                                 "gpu", "group"),
    "opsplan_gpu_driver_info": gauge("Always 1; the NVIDIA driver version", "version"),
}

# reason label -> pynvml constant name (the ClocksThrottle names exist in every nvidia-ml-py release).
THROTTLE_REASONS: dict[str, str] = {
    "sw_power_cap": "nvmlClocksThrottleReasonSwPowerCap",
    "hw_slowdown": "nvmlClocksThrottleReasonHwSlowdown",
    "sw_thermal": "nvmlClocksThrottleReasonSwThermalSlowdown",
    "hw_thermal": "nvmlClocksThrottleReasonHwThermalSlowdown",
    "hw_power_brake": "nvmlClocksThrottleReasonHwPowerBrakeSlowdown",
}
_FALLBACK_BITS = {"sw_power_cap": 0x4, "hw_slowdown": 0x8, "sw_thermal": 0x20, "hw_thermal": 0x40,
                  "hw_power_brake": 0x80}


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


def process_name(pid: int) -> str:
    """The process name for a PID, or "pid N" when it is gone, hidden or in another PID namespace."""
    try:
        return psutil.Process(pid).name() or f"pid {pid}"
    except (psutil.Error, OSError):
        return f"pid {pid}"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class _Skip(Exception):
    """A value that cannot be read this cycle; only that value is left out."""


class GpuCollector:
    """Per-GPU samples labelled gpu=<NVML index>, group=<plan group or "unassigned">."""

    name = "gpu"

    def __init__(self, plan: Plan, nvml: Any = None, *, clock: Callable[[], float] = time.monotonic,
                 retry_interval: float | None = 300.0, process_name: Callable[[int], str] = process_name):
        self._plan = plan
        self._nvml = nvml
        self._clock = clock
        self._retry_interval = retry_interval
        self._process_name = process_name
        self._initialised = False
        self._next_init_at: float | None = None
        self._warned_no_driver = False
        self._logged_reads: set[tuple[int, str, str]] = set()

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
        except self._nvml.NVMLError as exc:
            # None: a one-shot run (`collect --once`) that never tries again, so it promises no retry.
            self._next_init_at = now + (self._retry_interval if self._retry_interval is not None else math.inf)
            if not self._warned_no_driver:
                self._warned_no_driver = True
                level = logging.WARNING if self._plan.monitoring.gpu_required else logging.INFO
                retrying = "" if self._retry_interval is None else f" (retrying every {int(self._retry_interval)}s)"
                log.log(level, "gpu: NVML unavailable, reporting no GPUs%s: %s", retrying, exc)
            return False
        if self._warned_no_driver:
            log.warning("gpu: NVML available again")
        self._initialised, self._warned_no_driver, self._next_init_at = True, False, None
        return True

    def _lose_nvml(self, exc: Exception) -> None:
        """NVML stopped answering (driver unloaded or reset): report no GPUs, re-init next cycle."""
        if not self._warned_no_driver:
            self._warned_no_driver = True
            log.warning("gpu: NVML stopped answering, reporting no GPUs: %s", exc)
        with contextlib.suppress(Exception):  # it is already gone; shutting down is only tidying
            self._nvml.nvmlShutdown()
        self._initialised = False
        self._next_init_at = None

    def close(self) -> None:
        if self._initialised:
            self._initialised = False
            try:
                self._nvml.nvmlShutdown()
            except Exception as exc:  # closing must not fail the caller's shutdown
                log.debug("gpu: nvmlShutdown: %s", exc)

    # --- collection -----------------------------------------------------------------------------

    def _group(self, index: int) -> str:
        return self._plan.group_of_gpu(index) or "unassigned"

    def _presence(self, seen: int) -> list[Sample]:
        expected = self._plan.expected_gpus()
        out = [sample("opsplan_gpu_count", seen), sample("opsplan_gpu_expected", len(expected))]
        if self._plan.monitoring.gpu_required or seen:
            for i in expected:
                out.append(sample("opsplan_gpu_missing", 1 if i >= seen else 0, gpu=i, group=self._group(i)))
        return out

    def collect(self) -> list[Sample]:
        if not self._ensure_init():
            return self._presence(0)
        nvml = self._nvml
        try:
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as exc:
            self._lose_nvml(exc)
            return self._presence(0)
        out = self._presence(count)
        try:
            out.append(sample("opsplan_gpu_driver_info", 1, version=_text(nvml.nvmlSystemGetDriverVersion())))
        except nvml.NVMLError as exc:
            self._note(-1, "driver_version", exc)
        for index in range(count):
            out += self._one_gpu(index)
        return out

    def _note(self, index: int, field: str, exc: Exception) -> None:
        key = (index, field, type(exc).__name__)
        if key not in self._logged_reads:
            self._logged_reads.add(key)
            log.warning("gpu %d: cannot read %s: %s", index, field, exc)

    def _one_gpu(self, index: int) -> list[Sample]:
        nvml = self._nvml
        labels = {"gpu": str(index), "group": self._group(index)}
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
        except nvml.NVMLError as exc:
            self._note(index, "handle", exc)
            return [sample("opsplan_gpu_up", 0, **labels)]

        read_any = False

        def read(field: str, fn: Callable[[], Any]) -> Any:
            nonlocal read_any
            try:
                value = fn()
            except nvml.NVMLError_NotSupported:
                read_any = True  # the GPU answered; it just has no such sensor
                raise _Skip from None
            except nvml.NVMLError as exc:
                self._note(index, field, exc)
                raise _Skip from None
            read_any = True
            return value

        out: list[Sample] = []

        def emit(name: str, field: str, fn: Callable[[], Any], convert: Callable[[Any], float],
                 **extra: object) -> None:
            with contextlib.suppress(_Skip):
                out.append(sample(name, convert(read(field, fn)), **labels, **extra))

        names: dict[str, str] = {}
        for field, fn in (("name", nvml.nvmlDeviceGetName), ("uuid", nvml.nvmlDeviceGetUUID)):
            try:
                names[field] = _text(read(field, partial(fn, handle)))
            except _Skip:
                names[field] = ""

        try:
            util = read("utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
            out.append(sample("opsplan_gpu_utilization_ratio", util.gpu / 100, **labels))
            out.append(sample("opsplan_gpu_memory_utilization_ratio", util.memory / 100, **labels))
        except _Skip:
            pass
        try:
            mem = read("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
            out.append(sample("opsplan_gpu_memory_used_bytes", mem.used, **labels))
            out.append(sample("opsplan_gpu_memory_total_bytes", mem.total, **labels))
            if mem.total:
                out.append(sample("opsplan_gpu_memory_usage_ratio", mem.used / mem.total, **labels))
        except _Skip:
            pass

        sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
        emit("opsplan_gpu_temperature_celsius", "temperature",
             lambda: nvml.nvmlDeviceGetTemperature(handle, sensor), float)
        # NVML reports milliwatts.
        emit("opsplan_gpu_power_watts", "power_usage", lambda: nvml.nvmlDeviceGetPowerUsage(handle),
             lambda mw: mw / 1000)
        emit("opsplan_gpu_power_limit_watts", "power_limit",
             lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle), lambda mw: mw / 1000)
        emit("opsplan_gpu_fan_ratio", "fan", lambda: nvml.nvmlDeviceGetFanSpeed(handle),
             lambda pct: pct / 100)

        # Volatile counters (since the driver loaded) move as soon as an error happens; the aggregate
        # ones persist for the device's lifetime but are only updated by the driver now and then.
        volatile = getattr(nvml, "NVML_VOLATILE_ECC", 0)
        for kind, const, default in (("corrected", "NVML_MEMORY_ERROR_TYPE_CORRECTED", 0),
                                     ("uncorrected", "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1)):
            error_type = getattr(nvml, const, default)
            emit("opsplan_gpu_ecc_errors_total", "ecc",
                 partial(nvml.nvmlDeviceGetTotalEccErrors, handle, error_type, volatile), float, type=kind)

        try:
            mask = int(read("clocks_event_reasons", lambda: self._clock_reasons(handle)))
            for reason, const in THROTTLE_REASONS.items():
                bit = getattr(nvml, const, _FALLBACK_BITS[reason])
                out.append(sample("opsplan_gpu_throttled", 1 if mask & bit else 0, **labels, reason=reason))
        except _Skip:
            pass

        try:
            procs = read("processes", lambda: nvml.nvmlDeviceGetComputeRunningProcesses(handle))
            used_by_pid: dict[int, int] = {}
            for proc in procs:
                # None: the driver cannot attribute memory (WDDM, some MIG setups); unknown is not 0.
                if getattr(proc, "usedGpuMemory", None) is None:
                    continue
                used_by_pid[int(proc.pid)] = used_by_pid.get(int(proc.pid), 0) + int(proc.usedGpuMemory)
            for pid, used in sorted(used_by_pid.items()):
                out.append(sample("opsplan_gpu_process_memory_bytes", used, **labels, pid=pid,
                                  process=self._process_name(pid)))
        except _Skip:
            pass

        if names["name"] or names["uuid"]:
            # Built by hand: sample()'s first parameter is itself called `name`.
            out.append(Sample("opsplan_gpu_info", 1.0,
                              labels_of(**labels, name=names["name"], uuid=names["uuid"])))
        out.append(sample("opsplan_gpu_up", 1 if read_any else 0, **labels))
        return out

    def _clock_reasons(self, handle: Any) -> int:
        nvml = self._nvml
        newer = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if newer is not None:
            try:
                return int(newer(handle))
            except nvml.NVMLError_FunctionNotFound:  # a driver older than the Python binding
                pass
        return int(nvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle))
