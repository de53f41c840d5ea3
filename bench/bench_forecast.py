"""Benchmark of the monthly capacity forecast (issue 14: <= 1 s over 400 days of rollups, all series).

    PYTHONPATH=src .venv/bin/python bench/bench_forecast.py [--days 400] [--mounts 4] [--step 300] [--runs 5]

A metrics store is filled with `--days` of samples every `--step` seconds for every series the
default plan's capacity planning reads (each group's storage, memory and GPU memory and its GPU
memory installed, the MariaDB datadir, `--mounts` mounts with their sizes), maintained as `serve`
maintains it (14 days raw, the rest 5-minute rollups). Then, in the same run and in alternating
rounds:

- the whole item: `capacity.planning` evaluated (queries at a one-day step, Theil–Sen with Sen's
  interval, crossings, charts), wall time, median of `--runs`;
- the anchor: the same daily-maxima queries, fitted with `numpy.polyfit` (least squares, what
  `predict_linear` does), nothing else;
- the fits alone, on the same daily arrays: Theil–Sen against polyfit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from opsplan.checks import capacity, forecast, registry
from opsplan.checks.model import CheckContext
from opsplan.metrics import sample
from opsplan.plan.models import Plan
from opsplan.store import MetricsStore

DAY = 86400.0
T0 = 1_750_032_000.0  # a UTC midnight


def fill(directory: Path, days: int, mounts: int, step: float) -> tuple[MetricsStore, float]:
    clock = [T0]
    store = MetricsStore(directory, clock=lambda: clock[0], sync=False)
    rng = np.random.default_rng(5)
    cycles = int(days * DAY / step)
    grow = rng.uniform(1e9, 2e10, 16)
    for c in range(cycles):
        ts = T0 + c * step
        d = c * step / DAY
        noise = rng.normal(0, 5e9, 16)
        batch = []
        for i, group in enumerate(("ai", "app")):
            batch += [sample("opsplan_group_storage_used_bytes", 5e11 + grow[i] * d + noise[i], group=group),
                      sample("opsplan_group_memory_used_bytes", 6e10 + noise[2 + i], group=group),
                      sample("opsplan_group_gpu_memory_used_bytes", 3e10 + noise[4 + i] / 10, group=group),
                      sample("opsplan_group_gpu_memory_total_bytes", 6.4e10, group=group)]
        batch.append(sample("opsplan_mariadb_datadir_bytes", 1e11 + grow[6] / 4 * d + noise[6] / 10))
        for m in range(mounts):
            mount = "/" if m == 0 else f"/srv/m{m}"
            batch += [sample("opsplan_disk_used_bytes", 1e12 + grow[8 + m] * d + noise[8 + m], mountpoint=mount),
                      sample("opsplan_disk_total_bytes", 4e12, mountpoint=mount)]
        store.append(ts, batch)
        if c % int(DAY / step) == 0:
            clock[0] = ts
            store.maintain()
    end = T0 + cycles * step
    clock[0] = end + DAY
    store.maintain()
    clock[0] = end
    return store, end


def anchor(store: MetricsStore, plan: Plan, end: float) -> int:
    fitted = 0
    for subject in capacity.subjects(plan, store):
        times, values = capacity.history(store, subject, end)
        if times.size >= forecast.MIN_POINTS:
            forecast.least_squares(times, values)
            fitted += 1
    return fitted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--mounts", type=int, default=4)
    parser.add_argument("--step", type=float, default=300.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plan = Plan()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store, end = fill(Path(tmp) / "store", args.days, args.mounts, args.step)
        built = time.perf_counter() - started
        stats = store.stats()
        ctx = CheckContext(plan=plan, period="monthly", start=end - 30 * DAY, end=end, now=end, store=store)
        whole, least = [], []
        result = None
        for _ in range(args.runs):
            t = time.perf_counter()
            result = registry.evaluate("capacity.planning", ctx)
            whole.append(time.perf_counter() - t)
            t = time.perf_counter()
            series = anchor(store, plan, end)
            least.append(time.perf_counter() - t)
        arrays = [capacity.history(store, s, end) for s in capacity.subjects(plan, store)]
        arrays = [(t, v) for t, v in arrays if t.size >= forecast.MIN_POINTS]
        ts_fit, ls_fit = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            for times, values in arrays:
                forecast.theil_sen(times, values)
            ts_fit.append(time.perf_counter() - t)
            t = time.perf_counter()
            for times, values in arrays:
                forecast.least_squares(times, values)
            ls_fit.append(time.perf_counter() - t)
        store.close()
    assert result is not None
    load = os.getloadavg()[0]
    print(f"{platform.machine()}, Python {platform.python_version()}, load {load:.2f}, runs={args.runs}")
    print(f"store: {args.days} days, {stats['series']} series, {stats['rollup_rows']:,} rollup rows, "
          f"{stats['samples']:,} raw samples (built in {built:.0f} s)")
    print(f"capacity.planning: {series} series, {len(arrays[0][0])} daily points each, status {result.status}")
    anchor_ms = statistics.median(least) * 1000
    whole_ms = statistics.median(whole) * 1000
    print(f"anchor: daily-maxima queries + numpy.polyfit   {anchor_ms:9.1f} ms   x {1.0:6.2f}")
    print(f"capacity.planning, whole item                 {whole_ms:9.1f} ms   x {whole_ms / anchor_ms:6.2f}")
    ts_ms, ls_ms = statistics.median(ts_fit) * 1000, statistics.median(ls_fit) * 1000
    print(f"fits alone: numpy.polyfit                     {ls_ms:9.2f} ms   x {1.0:6.2f}")
    print(f"fits alone: Theil-Sen + Sen's interval        {ts_ms:9.2f} ms   x {ts_ms / ls_ms:6.1f}")
    print(f"target <= 1000 ms for the whole item: {'met' if whole_ms <= 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
