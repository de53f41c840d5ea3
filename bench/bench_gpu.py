"""CPU and wall time per cycle of the GPU collector: each GPU on its own deadline thread, against
the same reads made one after another in one thread (the collector before issue 11), in one run.

The GPUs are the fake NVML's (no GPU on the build machines), four as in the seed, with every value
the collector reads, so the figure is the collector's own cost: thread start, deadline wait and
sample building. `--delay` makes each NVML call take that long (a real driver answers in tens of
microseconds to a few milliseconds per call), to show what reading GPUs side by side buys.

    .venv/bin/python bench/bench_gpu.py [--rounds 5] [--cycles 200] [--delay 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from opsplan.collectors.gpu import GpuCollector
from opsplan.collectors.gpu_device import DeviceReading
from opsplan.collectors.nvml_fake import FakeNvml
from opsplan.plan.models import Plan


def spec(delay: float) -> dict[str, Any]:
    gib = 1024**3
    gpus = []
    for i in range(4):
        gpus.append({
            "name": "NVIDIA RTX 4000 Ada Generation", "uuid": f"GPU-0000000{i}-aaaa-bbbb-cccc-dddddddddddd",
            "utilization": {"gpu": 40, "memory": 10}, "memory": {"total": 20 * gib, "used": 8 * gib, "reserved": gib},
            "temperature": 55, "power_usage": 90_000, "power_limit": 130_000, "fan": 35,
            "ecc": {"corrected": 0, "uncorrected": 0}, "clocks_event_reasons": 0, "processes": [],
            "pcie_replay": 0, "persistence_mode": 1, "pstate": 0,
            "clocks": {"graphics": 2000, "sm": 2000, "memory": 9000},
            "ecc_mode": 1, "retired_pages": {"single_bit": 0, "double_bit": 0, "pending": 0},
            "remapped_rows": {"correctable": 0, "uncorrectable": 0, "pending": 0, "failure": 0}, "xid": [],
            **({"delay": {"*": delay}} if delay else {}),
        })
    return {"driver_version": "550.54.15", "gpus": gpus}


class OneThread(GpuCollector):
    """The anchor: the same reads, one GPU after another on the calling thread, no deadline."""

    def _read_all(self, slots: dict[int, Any]) -> dict[int, DeviceReading]:
        return {i: self._one_gpu(i, open_handle) for i, open_handle in slots.items()}


def measure(collector: GpuCollector, cycles: int) -> tuple[float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(cycles):
        collector.collect()
    return ((time.process_time() - cpu0) / cycles * 1e3, (time.perf_counter() - wall0) / cycles * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each fake NVML call takes")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    plan = Plan()  # what `opsplan init` writes: 4 GPUs, 5 s read deadline
    threaded = GpuCollector(plan, nvml=FakeNvml(spec(args.delay)))
    anchor = OneThread(plan, nvml=FakeNvml(spec(args.delay)))
    samples = len(threaded.collect())
    anchor.collect()
    rows: dict[str, list[tuple[float, float]]] = {"anchor": [], "threaded": []}
    for _ in range(args.rounds):  # alternate, so drift in the machine's load hits both
        rows["anchor"].append(measure(anchor, args.cycles))
        rows["threaded"].append(measure(threaded, args.cycles))
    threaded.close()
    anchor.close()
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in rows.items()}
    ratios = [t[0] / a[0] for a, t in zip(rows["anchor"], rows["threaded"], strict=True)]
    result = {
        "samples_per_cycle": samples, "delay_s": args.delay,
        "anchor_cpu_ms": round(med["anchor"][0], 3), "threaded_cpu_ms": round(med["threaded"][0], 3),
        "anchor_wall_ms": round(med["anchor"][1], 3), "threaded_wall_ms": round(med["threaded"][1], 3),
        "cpu_ratio": round(med["threaded"][0] / med["anchor"][0], 2),
        "cpu_ratio_rounds": [round(min(ratios), 2), round(max(ratios), 2)],
        "wall_ratio": round(med["threaded"][1] / med["anchor"][1], 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
