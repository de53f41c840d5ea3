"""Reading one GPU through NVML: every value on its own, so one bad call degrades one value.

`read_device` is what `GpuCollector` runs, under a deadline, for each GPU of a cycle. Any
exception from a read is caught, not only `NVMLError`: nvidia-ml-py raises plain exceptions too
(`NVMLLibraryMismatchError` when the driver lacks a `_v3` symbol, `AttributeError` once a
function is dropped from the package), and each of those must cost one value, not the cycle.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from opsplan.metrics import Sample, labels_of, sample

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
_MEMORY_V2 = 0x02000028  # pynvml.nvmlMemory_v2 (sizeof the struct | 2 << 24)

# Why a GPU is reported down (`opsplan_gpu_fault_info{reason}`), from the error its calls raise.
FAULT_REASONS = ("lost", "hung", "no_permission", "unreadable")
_LOST_ERRORS = ("NVMLError_GpuIsLost", "NVMLError_ResetRequired")

# The largest pid Linux hands out (PID_MAX_LIMIT); 0 and 0xFFFFFFFF come from the v2/v3
# process-struct mismatch of some R535 drivers and name no process.
PID_MAX = 4 * 1024 * 1024


def text_of(value: Any) -> str:
    """NVML strings: `str` in nvidia-ml-py 12+, `bytes` in older packages."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def fault_of(nvml: Any, exc: BaseException) -> str:
    """The fault an error means for the GPU as a whole."""
    for name in _LOST_ERRORS:
        cls = getattr(nvml, name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return "lost"
    cls = getattr(nvml, "NVMLError_NoPermission", None)
    if isinstance(cls, type) and isinstance(exc, cls):
        return "no_permission"
    return "unreadable"


def plausible_pid(pid: int, proc_root: str = "/proc") -> bool:
    """A pid the kernel could have handed out and that still has a /proc entry (on the host:
    NVML reports host pids, so they are looked up in the host's /proc, never a container's)."""
    return 0 < pid <= PID_MAX and os.path.isdir(os.path.join(proc_root, str(pid)))


class Skip(Exception):  # noqa: N818 - a signal, not an error
    """A value that cannot be read this cycle; only that value is left out."""


@dataclass
class DeviceReading:
    """One GPU's samples of a cycle; `fault` says why it is down (None: it answered); `missing`:
    the card its pin names is not there."""

    samples: list[Sample] = field(default_factory=list)
    fault: str | None = None
    missing: bool = False


Note = Callable[[str, BaseException], None]


class DeviceReader:
    """Reads one GPU's values into samples labelled with `labels` (gpu, group)."""

    def __init__(self, nvml: Any, handle: Any, labels: dict[str, str], note: Note,
                 process_name: Callable[[int], str], pid_ok: Callable[[int], bool] = plausible_pid,
                 extra: Callable[[DeviceReader], None] | None = None):
        self.nvml = nvml
        self.handle = handle
        self.labels = labels
        self.note = note
        self._process_name = process_name
        self._pid_ok = pid_ok
        self._extra = extra  # more values to read (gpu_health), each on its own as well
        self.read_any = False
        self.fault: str | None = None
        self.out: list[Sample] = []

    def read(self, what: str, fn: Callable[[], Any]) -> Any:
        nvml = self.nvml
        if self.fault == "lost":
            raise Skip  # a lost GPU answers nothing more this cycle: don't ask (nor log) again
        try:
            value = fn()
        except nvml.NVMLError_NotSupported:
            self.read_any = True  # the GPU answered; it just has no such sensor
            raise Skip from None
        except Exception as exc:  # not only NVMLError: see the module docstring
            self.note(what, exc)
            if isinstance(exc, nvml.NVMLError) and fault_of(nvml, exc) == "lost":
                self.fault = "lost"
            raise Skip from None
        self.read_any = True
        return value

    def emit(self, name: str, what: str, fn: Callable[[], Any], convert: Callable[[Any], float],
             **extra: object) -> None:
        with contextlib.suppress(Skip):
            self.out.append(sample(name, convert(self.read(what, fn)), **self.labels, **extra))

    def reading(self) -> DeviceReading:
        nvml, handle, labels, out = self.nvml, self.handle, self.labels, self.out
        names: dict[str, str] = {}
        for what, fn_name in (("name", "nvmlDeviceGetName"), ("uuid", "nvmlDeviceGetUUID")):
            try:
                names[what] = text_of(self.read(what, partial(self._call, fn_name)))
            except Skip:
                names[what] = ""
        try:
            pci = self.read("pci", lambda: nvml.nvmlDeviceGetPciInfo(handle))
            names["pci_bus_id"] = text_of(pci.busId)
        except Skip:
            names["pci_bus_id"] = ""

        with contextlib.suppress(Skip):
            util = self.read("utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
            out.append(sample("opsplan_gpu_utilization_ratio", util.gpu / 100, **labels))
            out.append(sample("opsplan_gpu_memory_utilization_ratio", util.memory / 100, **labels))
        self._memory()

        sensor = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
        self.emit("opsplan_gpu_temperature_celsius", "temperature",
                  lambda: nvml.nvmlDeviceGetTemperature(handle, sensor), float)
        # NVML reports milliwatts.
        self.emit("opsplan_gpu_power_watts", "power_usage", lambda: nvml.nvmlDeviceGetPowerUsage(handle),
                  lambda mw: mw / 1000)
        self.emit("opsplan_gpu_power_limit_watts", "power_limit",
                  lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(handle), lambda mw: mw / 1000)
        self.emit("opsplan_gpu_fan_ratio", "fan", lambda: nvml.nvmlDeviceGetFanSpeed(handle),
                  lambda pct: pct / 100)

        # Volatile counters (since the driver loaded) move as soon as an error happens; the aggregate
        # ones persist for the device's lifetime but are only updated by the driver now and then.
        volatile = getattr(nvml, "NVML_VOLATILE_ECC", 0)
        for kind, const, default in (("corrected", "NVML_MEMORY_ERROR_TYPE_CORRECTED", 0),
                                     ("uncorrected", "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1)):
            error_type = getattr(nvml, const, default)
            self.emit("opsplan_gpu_ecc_errors_total", "ecc",
                      partial(lambda t: nvml.nvmlDeviceGetTotalEccErrors(handle, t, volatile), error_type),
                      float, type=kind)

        with contextlib.suppress(Skip):
            mask = int(self.read("clocks_event_reasons", self._clock_reasons))
            for reason, const in THROTTLE_REASONS.items():
                bit = getattr(nvml, const, _FALLBACK_BITS[reason])
                out.append(sample("opsplan_gpu_throttled", 1 if mask & bit else 0, **labels, reason=reason))

        self._processes()
        if self._extra is not None and self.fault != "lost":
            self._extra(self)

        if any(names.values()):
            # Built by hand: sample()'s first parameter is itself called `name`.
            out.append(Sample("opsplan_gpu_info", 1.0,
                              labels_of(**labels, name=names["name"], uuid=names["uuid"],
                                        pci_bus_id=names["pci_bus_id"])))
        fault = self.fault or (None if self.read_any else "unreadable")
        return DeviceReading(out, fault)

    def _call(self, fn_name: str) -> Any:
        # Looked up at call time: a function missing from the package costs this value only.
        return getattr(self.nvml, fn_name)(self.handle)

    def _memory(self) -> None:
        """v2 first: its `used` leaves out memory the driver reserves (as nvidia-smi shows it); v1's
        `used` counts the reserved part too. Drivers or packages without v2 fall back to v1."""
        nvml, handle, labels = self.nvml, self.handle, self.labels
        if self.fault == "lost":
            return
        version = getattr(nvml, "nvmlMemory_v2", _MEMORY_V2)
        try:
            mem = nvml.nvmlDeviceGetMemoryInfo(handle, version=version)
        except nvml.NVMLError_NotSupported:
            mem = None
        except Exception as exc:  # FunctionNotFound (pre-510 driver), a lost GPU...: try v1
            if isinstance(exc, nvml.NVMLError) and fault_of(nvml, exc) == "lost":
                self.note("memory", exc)
                self.fault = "lost"
                return
            mem = None
        if mem is None:
            try:
                mem = self.read("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
            except Skip:
                return
        else:
            self.read_any = True
            reserved = getattr(mem, "reserved", None)
            if reserved is not None:
                self.out.append(sample("opsplan_gpu_memory_reserved_bytes", reserved, **labels))
        self.out.append(sample("opsplan_gpu_memory_used_bytes", mem.used, **labels))
        self.out.append(sample("opsplan_gpu_memory_total_bytes", mem.total, **labels))
        if mem.total:
            self.out.append(sample("opsplan_gpu_memory_usage_ratio", mem.used / mem.total, **labels))

    def _processes(self) -> None:
        with contextlib.suppress(Skip):
            procs = self.read("processes", lambda: self.nvml.nvmlDeviceGetComputeRunningProcesses(self.handle))
            used_by_pid: dict[int, int] = {}
            for proc in procs:
                # None: the driver cannot attribute memory (WDDM, some MIG setups); unknown is not 0.
                if getattr(proc, "usedGpuMemory", None) is None:
                    continue
                pid = int(proc.pid)
                if not self._pid_ok(pid):
                    continue  # a scrambled entry (R535 struct mismatch) or a process already gone
                used_by_pid[pid] = used_by_pid.get(pid, 0) + int(proc.usedGpuMemory)
            for pid, used in sorted(used_by_pid.items()):
                self.out.append(sample("opsplan_gpu_process_memory_bytes", used, **self.labels, pid=pid,
                                       process=self._process_name(pid)))

    def _clock_reasons(self) -> int:
        nvml, handle = self.nvml, self.handle
        newer = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if newer is not None:
            try:
                return int(newer(handle))
            except nvml.NVMLError_FunctionNotFound:  # a driver older than the Python binding
                pass
        return int(nvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle))
