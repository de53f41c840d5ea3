"""On-GPU check: opsplan's GPU collector against nvidia-smi, on a machine with NVIDIA GPUs (< 2 min).

    PYTHONPATH=src .venv/bin/python scripts/gpu-check.py          # from the project root

Prints one line per check, `OK` / `WARN` / `FAIL`, then `FAILURES: N`; exits 1 when any check
fails and 2 when there is no driver to check. It compares what `GpuCollector` exports (with a
plan that assigns every GPU of this machine) with `nvidia-smi`: GPU count, UUIDs, PCI bus ids,
memory used (NVML v1 and v2 against nvidia-smi), power within its limit, temperature, compute
process pids and memory (with a CUDA context of its own, made through libcuda, no torch), the
cost of each NVML call, the collector's cycle time, and concurrent collects giving the same result.
See docs/gpu.md.
"""

from __future__ import annotations

import ctypes
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from typing import Any

MIB = 1024**2
failures = 0


def say(level: str, message: str) -> None:
    global failures
    failures += level == "FAIL"
    print(f"{level:4} {message}", flush=True)


def check(ok: bool, message: str, level: str = "FAIL") -> None:
    say("OK" if ok else level, message)


def smi(query: str, kind: str = "gpu") -> list[list[str]]:
    out = subprocess.run(["nvidia-smi", f"--query-{kind}={query}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=30, check=False).stdout
    return [[c.strip() for c in line.split(",")] for line in out.strip().splitlines() if line.strip()]


def cuda_child(seconds: float) -> subprocess.Popen[str] | None:
    """A process holding a CUDA context on the first CUDA device, so there is a process to compare."""
    code = ("import ctypes,time;c=ctypes.CDLL('libcuda.so.1');assert c.cuInit(0)==0;d=ctypes.c_int();"
            "c.cuDeviceGet(ctypes.byref(d),0);x=ctypes.c_void_p();"
            f"assert c.cuCtxCreate_v2(ctypes.byref(x),0,d)==0;print('ctx',flush=True);time.sleep({seconds})")
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        say("WARN", f"libcuda cannot be loaded, no CUDA process of our own: {exc}")
        return None
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    if child.stdout is None or child.stdout.readline().strip() != "ctx":
        say("WARN", "the CUDA child did not make a context")
        return None
    time.sleep(1.0)  # let NVML's process list catch up
    return child


def values(samples: list[Any], name: str) -> dict[str, Any]:
    return {s.label("gpu"): s for s in samples if s.name == name}


def main() -> int:
    import pynvml as nvml

    from opsplan.collectors.gpu import GpuCollector
    from opsplan.plan.models import Plan

    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        print(f"no NVIDIA driver here ({exc}): run this on the GPU machine", flush=True)
        return 2
    if shutil.which("nvidia-smi") is None:
        print("nvidia-smi is not on PATH: install the driver's utilities", flush=True)
        return 2
    driver = nvml.nvmlSystemGetDriverVersion()
    print(f"nvidia-ml-py {version('nvidia-ml-py')}, driver {driver}, CUDA driver API "
          f"{nvml.nvmlSystemGetCudaDriverVersion()}", flush=True)
    count = nvml.nvmlDeviceGetCount()
    plan = Plan.model_validate({
        "server": {"gpu": {"count": count}},
        "allocation": [{"id": "all", "name": {"ko": "전체", "en": "all"}, "gpus": list(range(count)),
                        "memory": "1GB", "storage": "1GB"}]})
    collector = GpuCollector(plan, nvml=nvml)
    child = cuda_child(60)
    try:
        compare(nvml, collector, plan, count, child)
        costs(nvml, count)
        cycles(nvml, collector, plan, count)
    finally:
        if child is not None:
            child.kill()
        collector.close()
    print(f"FAILURES: {failures}", flush=True)
    return 1 if failures else 0


def compare(nvml: Any, collector: Any, plan: Any, count: int, child: subprocess.Popen[str] | None) -> None:
    rows = smi("index,uuid,pci.bus_id,memory.used,memory.total,memory.reserved,power.draw,"
               "power.limit,temperature.gpu")
    samples = collector.collect()
    gpu_count = next(s.value for s in samples if s.name == "opsplan_gpu_count")
    check(gpu_count == len(rows) == count, f"count: opsplan {gpu_count:g}, nvidia-smi {len(rows)}, NVML {count}")
    info, up = values(samples, "opsplan_gpu_info"), values(samples, "opsplan_gpu_up")
    used, total = values(samples, "opsplan_gpu_memory_used_bytes"), values(samples, "opsplan_gpu_memory_total_bytes")
    reserved = values(samples, "opsplan_gpu_memory_reserved_bytes")
    power, temp = values(samples, "opsplan_gpu_power_watts"), values(samples, "opsplan_gpu_temperature_celsius")
    for row in rows:
        index, uuid, bus, smi_used, smi_total, smi_reserved, smi_power, smi_limit, smi_temp = row
        g = index
        check(g in up and up[g].value == 1, f"gpu {g}: up")
        if g not in info:
            say("FAIL", f"gpu {g}: no opsplan_gpu_info")
            continue
        check(info[g].label("uuid") == uuid, f"gpu {g}: uuid {info[g].label('uuid')} (nvidia-smi {uuid})")
        check(info[g].label("pci_bus_id").lower() == bus.lower(),
              f"gpu {g}: bus id {info[g].label('pci_bus_id')} (nvidia-smi {bus})")
        # Memory moves between the two reads; a few MiB apart is the same reading.
        ours = used[g].value / MIB if g in used else float("nan")
        check(abs(ours - float(smi_used)) <= max(64, 0.01 * float(smi_total)),
              f"gpu {g}: memory used {ours:.0f} MiB (nvidia-smi {smi_used} MiB)")
        check(g in total and abs(total[g].value / MIB - float(smi_total)) <= 1,
              f"gpu {g}: memory total {total[g].value / MIB:.0f} MiB (nvidia-smi {smi_total} MiB)")
        if smi_reserved.replace(".", "").isdigit():
            check(g in reserved and abs(reserved[g].value / MIB - float(smi_reserved)) <= 1,
                  f"gpu {g}: memory reserved "
                  f"{reserved[g].value / MIB if g in reserved else float('nan'):.0f} MiB (nvidia-smi {smi_reserved})")
        handle = nvml.nvmlDeviceGetHandleByIndex(int(g))
        v1 = nvml.nvmlDeviceGetMemoryInfo(handle)
        print(f"     gpu {g}: NVML v1 used {v1.used / MIB:.0f} MiB (includes reserved), v2 used {ours:.0f} MiB",
              flush=True)
        watts = power[g].value if g in power else float("nan")
        check(0 < watts <= float(smi_limit) * 1.1 and abs(watts - float(smi_power)) <= max(15, 0.2 * float(smi_power)),
              f"gpu {g}: power {watts:.1f} W (nvidia-smi {smi_power} W, limit {smi_limit} W)")
        check(g in temp and abs(temp[g].value - float(smi_temp)) <= 3,
              f"gpu {g}: temperature {temp[g].value if g in temp else float('nan'):g} °C (nvidia-smi {smi_temp})")
    # Compute processes: the same pids and memory as nvidia-smi, all live host pids.
    samples = collector.collect()
    ours_p = {(s.label("gpu"), int(s.label("pid") or 0)): s.value for s in samples
              if s.name == "opsplan_gpu_process_memory_bytes"}
    uuid_to_gpu = {row[1]: row[0] for row in smi("index,uuid")}
    theirs = {(uuid_to_gpu.get(r[0], "?"), int(r[1])): float(r[2]) for r in smi("gpu_uuid,pid,used_memory",
                                                                                   "compute-apps")}
    check(set(ours_p) == set(theirs), f"processes: opsplan {sorted(ours_p)} nvidia-smi {sorted(theirs)}")
    for key, mib in theirs.items():
        if key in ours_p:
            check(abs(ours_p[key] / MIB - mib) <= 2, f"process {key}: {ours_p[key] / MIB:.0f} MiB (nvidia-smi {mib:g})")
    if child is not None:
        check(any(pid == child.pid for _, pid in ours_p), f"our own CUDA process {child.pid} is seen")


def costs(nvml: Any, count: int) -> None:
    calls: dict[str, Callable[[Any], Any]] = {
        "name": nvml.nvmlDeviceGetName, "uuid": nvml.nvmlDeviceGetUUID, "pci": nvml.nvmlDeviceGetPciInfo,
        "utilization": nvml.nvmlDeviceGetUtilizationRates, "memory_v1": nvml.nvmlDeviceGetMemoryInfo,
        "memory_v2": lambda h: nvml.nvmlDeviceGetMemoryInfo(h, version=nvml.nvmlMemory_v2),
        "temperature": lambda h: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU),
        "power": nvml.nvmlDeviceGetPowerUsage, "power_limit": nvml.nvmlDeviceGetEnforcedPowerLimit,
        "fan": nvml.nvmlDeviceGetFanSpeed,
        "ecc": lambda h: nvml.nvmlDeviceGetTotalEccErrors(h, 1, nvml.NVML_VOLATILE_ECC),
        "clocks_event_reasons": nvml.nvmlDeviceGetCurrentClocksEventReasons,
        "processes": nvml.nvmlDeviceGetComputeRunningProcesses,
    }
    for i in range(count):
        handle = nvml.nvmlDeviceGetHandleByIndex(i)
        parts = []
        for what, fn in calls.items():
            started = time.perf_counter()
            try:
                fn(handle)
                result = "ok"
            except Exception as exc:  # the error class is what this line is for
                result = type(exc).__name__
            parts.append(f"{what}={result} {(time.perf_counter() - started) * 1e3:.2f}ms")
        print(f"     gpu {i} calls: " + ", ".join(parts), flush=True)


def cycles(nvml: Any, collector: Any, plan: Any, count: int) -> None:
    from opsplan.collectors.gpu import GpuCollector

    seconds = []
    for _ in range(20):
        started = time.perf_counter()
        collector.collect()
        seconds.append(time.perf_counter() - started)
    check(max(seconds) < 1.0, f"collect(): median {statistics.median(seconds) * 1e3:.1f} ms, "
          f"max {max(seconds) * 1e3:.1f} ms over 20 cycles", level="WARN")

    def identity(_: int) -> tuple[tuple[str, str, str], ...]:
        samples = GpuCollector(plan, nvml=nvml).collect()
        return tuple(sorted((s.label("gpu") or "", s.label("uuid") or "", s.label("pci_bus_id") or "")
                            for s in samples if s.name == "opsplan_gpu_info"))

    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(identity, range(32)))
    check(len(seen) == 1 and len(next(iter(seen))) == count,
          f"32 concurrent collects from 8 threads agree on {count} GPUs' identity")


if __name__ == "__main__":
    sys.exit(main())
