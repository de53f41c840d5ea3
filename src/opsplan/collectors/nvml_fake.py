"""A stand-in for the `pynvml` module, for tests and demos only (never for production data).

It has the same function names, arguments and return shapes as nvidia-ml-py, and raises the
real `pynvml.NVMLError_*` classes, so `GpuCollector` runs the same code against it as against
a GPU. Constants and error classes are taken from the real pynvml module.

Built from a dict (or a JSON file, see `OPSPLAN_FAKE_NVML` in opsplan.collectors.gpu):

    {
      "init_error": null,                 # or "DriverNotLoaded", "LibraryNotFound", ...
      "driver_version": "550.54.15",
      "missing_functions": [],            # e.g. ["nvmlDeviceGetCurrentClocksEventReasons"]
      "gpus": [
        {"name": "NVIDIA RTX 4000 Ada Generation", "uuid": "GPU-0000...",
         "utilization": {"gpu": 37, "memory": 12},          # percent
         "memory": {"total": 21474836480, "used": 4294967296},  # bytes; free is derived
         "temperature": 54,                                  # Celsius
         "power_usage": 70000, "power_limit": 130000,        # milliwatts, as NVML reports
         "fan": 30,                                          # percent
         "ecc": {"corrected": 0, "uncorrected": 0},
         "clocks_event_reasons": 0,                          # NVML bit mask, or a list of names below
         "processes": [{"pid": 1234, "used_memory": 1073741824}],
         "not_supported": ["fan"],          # fields that raise NVMLError_NotSupported
         "errors": {"temperature": "Unknown"},  # fields that raise another NVMLError
         "handle_error": null,              # e.g. "GpuIsLost": the GPU cannot even be opened
         "pci_bus_id": "00000000:01:00.0",  # default: bus 01 + the GPU's position
         "raises": {"processes": "NVMLLibraryMismatchError"},  # exceptions that are not NVMLError
         "delay": {"temperature": 0.2},     # seconds a call takes
         "hang": ["memory"],                # calls that block until release() (a GPU stuck in the driver)
         "vanishes": false,                 # counted by nvmlDeviceGetCount, then gone (later GPUs shift down)
         "pcie_replay": 0, "persistence_mode": 1, "pstate": 0,
         "clocks": {"graphics": 1800, "sm": 1800, "memory": 8000},   # MHz
         "ecc_mode": 1, "retired_pages": {"single_bit": 0, "double_bit": 0, "pending": 0},
         "remapped_rows": {"correctable": 0, "uncorrectable": 0, "pending": 0, "failure": 0},
         "xid": []}                         # Xid codes waiting in the GPU's event queue
      ],
      "bytes_strings": false               # names, UUIDs and versions as bytes (nvidia-ml-py before 12)
    }

Field names for `not_supported`/`errors`/`raises`/`delay`/`hang`: name, uuid, pci_bus_id, utilization,
memory, temperature, power_usage, power_limit, fan, ecc, clocks_event_reasons, processes,
pcie_replay, persistence_mode, pstate, clocks, ecc_mode, retired_pages, remapped_rows, xid;
`"*"` means every field. `raises` names `NVMLLibraryMismatchError` (what nvidia-ml-py 13 raises
when the driver lacks a `_v3` symbol), `AttributeError` (a function the package dropped) or
`RuntimeError`. `memory` may hold `reserved`: the v2 call reports it apart, and the v1 call's
`used` includes it, as on a real driver. Missing function `nvmlDeviceGetMemoryInfo_v2` makes
the v2 call raise FunctionNotFound (drivers before 510).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml

from opsplan.errors import CollectorError

REASON_BITS = {
    "gpu_idle": pynvml.nvmlClocksThrottleReasonGpuIdle,
    "sw_power_cap": pynvml.nvmlClocksThrottleReasonSwPowerCap,
    "hw_slowdown": pynvml.nvmlClocksThrottleReasonHwSlowdown,
    "sw_thermal": pynvml.nvmlClocksThrottleReasonSwThermalSlowdown,
    "hw_thermal": pynvml.nvmlClocksThrottleReasonHwThermalSlowdown,
    "hw_power_brake": pynvml.nvmlClocksThrottleReasonHwPowerBrakeSlowdown,
}


def nvml_error(name: str) -> pynvml.NVMLError:
    """An instance of pynvml's NVMLError_<name> (e.g. "NotSupported", "GpuIsLost")."""
    cls = getattr(pynvml, f"NVMLError_{name}", None)
    if cls is None:
        raise ValueError(f"unknown NVML error name {name!r}")
    error: pynvml.NVMLError = cls()
    return error


PLAIN_EXCEPTIONS: dict[str, type[Exception]] = {
    "NVMLLibraryMismatchError": pynvml.NVMLLibraryMismatchError,
    "AttributeError": AttributeError,
    "RuntimeError": RuntimeError,
}
HANG_LIMIT = 60.0  # a hung call gives up after this long, so a forgotten release() cannot hang a test run


class FakeHandle:
    """Points at one card (its spec dict), not at a position: cards keep their handle when the list shifts."""

    def __init__(self, gpu: dict[str, Any]):
        self.gpu = gpu

    def __repr__(self) -> str:
        return f"<FakeHandle {self.gpu.get('uuid', '?')}>"


class FakeEventSet:
    def __init__(self) -> None:
        self.gpus: list[dict[str, Any]] = []
        self.freed = False


class FakeNvml:
    """Same function names as pynvml; state is plain attributes tests may change between cycles."""

    def __init__(self, spec: dict[str, Any] | None = None):
        spec = dict(spec or {})
        self.init_error: str | None = spec.get("init_error")
        self.driver_version: str = spec.get("driver_version", "550.54.15")
        self.missing_functions: set[str] = set(spec.get("missing_functions", []))
        self.gpus: list[dict[str, Any]] = [dict(g) for g in spec.get("gpus", [])]
        for i, gpu in enumerate(self.gpus):
            for key in ("name", "uuid"):
                if key in gpu and not isinstance(gpu[key], str):
                    raise ValueError(f"gpu {key} must be a string")
            gpu.setdefault("pci_bus_id", f"00000000:{i + 1:02X}:00.0")
        self.bytes_strings = bool(spec.get("bytes_strings", False))
        self.initialised = False
        self.init_calls = 0
        self.shutdown_calls = 0
        self.released = threading.Event()  # set by release(): hung calls return
        self.inside = 0  # calls in progress right now (a shutdown under them is the bug to catch)
        self.shutdown_while_inside = 0
        self.event_sets_freed = 0
        self._inside_lock = threading.Lock()

    def release(self) -> None:
        """Let every hung call return (the driver recovered)."""
        self.released.set()

    def _str(self, value: str) -> str | bytes:
        return value.encode() if self.bytes_strings else value

    @classmethod
    def from_file(cls, path: str | Path) -> FakeNvml:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("the top level must be an object")
            return cls(data)
        except (OSError, ValueError) as exc:
            raise CollectorError(f"fake NVML file {path}: {exc}") from None

    def __getattr__(self, name: str) -> Any:
        # Constants and error classes come from the real module so `except nvml.NVMLError` and
        # `nvml.NVML_TEMPERATURE_GPU` mean the same here as on a real GPU.
        if name.startswith(("NVML", "nvmlClocks")):
            return getattr(pynvml, name)
        raise AttributeError(name)

    # --- helpers ------------------------------------------------------------------------------

    def _check(self, function: str) -> None:
        if function in self.missing_functions:
            raise nvml_error("FunctionNotFound")
        if not self.initialised:
            raise nvml_error("Uninitialized")

    def _gpu(self, function: str, handle: FakeHandle, field: str) -> dict[str, Any]:
        self._check(function)
        if not isinstance(handle, FakeHandle) or not any(g is handle.gpu for g in self.gpus):
            raise nvml_error("InvalidArgument")
        gpu = handle.gpu
        if gpu.get("handle_error"):
            raise nvml_error(gpu["handle_error"])
        self._slow(gpu, field)
        raises: dict[str, str] = gpu.get("raises", {})
        if field in raises or "*" in raises:
            raise PLAIN_EXCEPTIONS[raises.get(field) or raises["*"]](f"{function}: fake failure")
        errors: dict[str, str] = gpu.get("errors", {})
        if field in errors or "*" in errors:
            raise nvml_error(errors.get(field) or errors["*"])
        not_supported = gpu.get("not_supported", [])
        if field in not_supported or "*" in not_supported or field not in gpu:
            raise nvml_error("NotSupported")
        return gpu

    def _slow(self, gpu: dict[str, Any], field: str) -> None:
        delay: dict[str, float] = gpu.get("delay", {})
        hang = gpu.get("hang", [])
        seconds = delay.get(field, delay.get("*", 0.0))
        if not seconds and field not in hang and "*" not in hang:
            return
        with self._inside_lock:
            self.inside += 1
        try:
            if field in hang or "*" in hang:
                self.released.wait(HANG_LIMIT)
            else:
                time.sleep(seconds)
        finally:
            with self._inside_lock:
                self.inside -= 1

    # --- the pynvml API -----------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.init_error:
            raise nvml_error(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self._check("nvmlShutdown")
        if self.inside:
            self.shutdown_while_inside += 1
        self.shutdown_calls += 1
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:
        self._check("nvmlSystemGetDriverVersion")
        return self._str(self.driver_version)  # type: ignore[return-value]

    def nvmlDeviceGetCount(self) -> int:
        self._check("nvmlDeviceGetCount")
        count = len(self.gpus)
        # A card that falls off the bus between the count and the handles: later ones shift down.
        self.gpus = [g for g in self.gpus if not g.get("vanishes")]
        return count

    def _handle(self, gpu: dict[str, Any]) -> FakeHandle:
        if gpu.get("handle_error"):
            raise nvml_error(gpu["handle_error"])
        return FakeHandle(gpu)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeHandle:
        self._check("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise nvml_error("InvalidArgument")
        return self._handle(self.gpus[index])

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> FakeHandle:
        self._check("nvmlDeviceGetHandleByUUID")
        wanted = uuid.decode() if isinstance(uuid, bytes) else uuid
        for gpu in self.gpus:
            if gpu.get("uuid") == wanted:
                return self._handle(gpu)
        raise nvml_error("NotFound")

    def nvmlDeviceGetHandleByPciBusId(self, pciBusId: str) -> FakeHandle:
        self._check("nvmlDeviceGetHandleByPciBusId")
        wanted = (pciBusId.decode() if isinstance(pciBusId, bytes) else pciBusId).upper()
        for gpu in self.gpus:
            if str(gpu["pci_bus_id"]).upper() == wanted:
                return self._handle(gpu)
        raise nvml_error("NotFound")

    def nvmlDeviceGetName(self, handle: FakeHandle) -> str:
        return self._str(str(self._gpu("nvmlDeviceGetName", handle, "name")["name"]))  # type: ignore[return-value]

    def nvmlDeviceGetUUID(self, handle: FakeHandle) -> str:
        return self._str(str(self._gpu("nvmlDeviceGetUUID", handle, "uuid")["uuid"]))  # type: ignore[return-value]

    def nvmlDeviceGetPciInfo(self, handle: FakeHandle) -> SimpleNamespace:
        gpu = self._gpu("nvmlDeviceGetPciInfo", handle, "pci_bus_id")
        return SimpleNamespace(busId=self._str(str(gpu["pci_bus_id"])))

    def nvmlDeviceGetUtilizationRates(self, handle: FakeHandle) -> SimpleNamespace:
        u = self._gpu("nvmlDeviceGetUtilizationRates", handle, "utilization")["utilization"]
        return SimpleNamespace(gpu=int(u["gpu"]), memory=int(u["memory"]))

    def nvmlDeviceGetMemoryInfo(self, handle: FakeHandle, version: int | None = None) -> SimpleNamespace:
        if version and "nvmlDeviceGetMemoryInfo_v2" in self.missing_functions:
            self._check("nvmlDeviceGetMemoryInfo")
            raise nvml_error("FunctionNotFound")
        m = self._gpu("nvmlDeviceGetMemoryInfo", handle, "memory")["memory"]
        total, used, reserved = int(m["total"]), int(m["used"]), int(m.get("reserved", 0))
        free = int(m.get("free", total - used - reserved))
        if version:
            return SimpleNamespace(version=version, total=total, reserved=reserved, free=free, used=used)
        return SimpleNamespace(total=total, used=used + reserved, free=free)  # v1: used counts reserved

    def nvmlDeviceGetTemperature(self, handle: FakeHandle, sensor: int) -> int:
        gpu = self._gpu("nvmlDeviceGetTemperature", handle, "temperature")
        if sensor != pynvml.NVML_TEMPERATURE_GPU:
            raise nvml_error("InvalidArgument")
        return int(gpu["temperature"])

    def nvmlDeviceGetPowerUsage(self, handle: FakeHandle) -> int:
        return int(self._gpu("nvmlDeviceGetPowerUsage", handle, "power_usage")["power_usage"])

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: FakeHandle) -> int:
        return int(self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle, "power_limit")["power_limit"])

    def nvmlDeviceGetFanSpeed(self, handle: FakeHandle) -> int:
        return int(self._gpu("nvmlDeviceGetFanSpeed", handle, "fan")["fan"])

    def nvmlDeviceGetTotalEccErrors(self, handle: FakeHandle, errorType: int, counterType: int) -> int:
        ecc = self._gpu("nvmlDeviceGetTotalEccErrors", handle, "ecc")["ecc"]
        if errorType == pynvml.NVML_MEMORY_ERROR_TYPE_CORRECTED:
            return int(ecc["corrected"])
        if errorType == pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED:
            return int(ecc["uncorrected"])
        raise nvml_error("InvalidArgument")

    def _reasons(self, function: str, handle: FakeHandle) -> int:
        value = self._gpu(function, handle, "clocks_event_reasons")["clocks_event_reasons"]
        if isinstance(value, list):
            mask = 0
            for reason in value:
                mask |= REASON_BITS[reason]
            return mask
        return int(value)

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: FakeHandle) -> int:
        return self._reasons("nvmlDeviceGetCurrentClocksEventReasons", handle)

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: FakeHandle) -> int:
        return self._reasons("nvmlDeviceGetCurrentClocksThrottleReasons", handle)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: FakeHandle) -> list[SimpleNamespace]:
        procs = self._gpu("nvmlDeviceGetComputeRunningProcesses", handle, "processes")["processes"]
        return [SimpleNamespace(pid=int(p["pid"]), usedGpuMemory=p.get("used_memory"),
                                gpuInstanceId=0xFFFFFFFF, computeInstanceId=0xFFFFFFFF) for p in procs]

    # --- health beyond load --------------------------------------------------------------------

    def nvmlDeviceGetPcieReplayCounter(self, handle: FakeHandle) -> int:
        return int(self._gpu("nvmlDeviceGetPcieReplayCounter", handle, "pcie_replay")["pcie_replay"])

    def nvmlDeviceGetPersistenceMode(self, handle: FakeHandle) -> int:
        return int(self._gpu("nvmlDeviceGetPersistenceMode", handle, "persistence_mode")["persistence_mode"])

    def nvmlDeviceGetPerformanceState(self, handle: FakeHandle) -> int:
        return int(self._gpu("nvmlDeviceGetPerformanceState", handle, "pstate")["pstate"])

    def nvmlDeviceGetClockInfo(self, handle: FakeHandle, type: int) -> int:  # noqa: A002 - pynvml's name
        clocks = self._gpu("nvmlDeviceGetClockInfo", handle, "clocks")["clocks"]
        names = {pynvml.NVML_CLOCK_GRAPHICS: "graphics", pynvml.NVML_CLOCK_SM: "sm", pynvml.NVML_CLOCK_MEM: "memory"}
        if type not in names or names[type] not in clocks:
            raise nvml_error("NotSupported")
        return int(clocks[names[type]])

    def nvmlDeviceGetEccMode(self, handle: FakeHandle) -> list[int]:
        mode = int(self._gpu("nvmlDeviceGetEccMode", handle, "ecc_mode")["ecc_mode"])
        return [mode, mode]

    def nvmlDeviceGetRetiredPages(self, device: FakeHandle, sourceFilter: int) -> list[int]:
        pages = self._gpu("nvmlDeviceGetRetiredPages", device, "retired_pages")["retired_pages"]
        key = "single_bit" if sourceFilter == pynvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS \
            else "double_bit"
        return [0x1000 * (i + 1) for i in range(int(pages.get(key, 0)))]

    def nvmlDeviceGetRetiredPagesPendingStatus(self, device: FakeHandle) -> int:
        pages = self._gpu("nvmlDeviceGetRetiredPagesPendingStatus", device, "retired_pages")["retired_pages"]
        return int(pages.get("pending", 0))

    def nvmlDeviceGetRemappedRows(self, device: FakeHandle) -> tuple[int, int, int, int]:
        rows = self._gpu("nvmlDeviceGetRemappedRows", device, "remapped_rows")["remapped_rows"]
        return (int(rows.get("correctable", 0)), int(rows.get("uncorrectable", 0)), int(rows.get("pending", 0)),
                int(rows.get("failure", 0)))

    def nvmlEventSetCreate(self) -> FakeEventSet:
        self._check("nvmlEventSetCreate")
        return FakeEventSet()

    def nvmlDeviceRegisterEvents(self, handle: FakeHandle, eventTypes: int, eventSet: FakeEventSet) -> None:
        gpu = self._gpu("nvmlDeviceRegisterEvents", handle, "xid")
        if eventTypes & pynvml.nvmlEventTypeXidCriticalError:
            eventSet.gpus.append(gpu)

    def nvmlEventSetWait_v2(self, eventSet: FakeEventSet, timeoutms: int) -> SimpleNamespace:
        self._check("nvmlEventSetWait_v2")
        if eventSet.freed:
            raise nvml_error("InvalidArgument")
        for gpu in eventSet.gpus:
            if gpu["xid"]:
                return SimpleNamespace(device=FakeHandle(gpu), eventType=pynvml.nvmlEventTypeXidCriticalError,
                                       eventData=int(gpu["xid"].pop(0)), gpuInstanceId=0xFFFFFFFF,
                                       computeInstanceId=0xFFFFFFFF)
        raise nvml_error("Timeout")  # timeoutms is not waited: tests poll with 0, as the collector does

    def nvmlEventSetFree(self, eventSet: FakeEventSet) -> None:
        self._check("nvmlEventSetFree")
        eventSet.freed = True
        self.event_sets_freed += 1
