"""The plan's allocation groups (seed §1.2) as metrics: budgets, storage used, GPU rollups.

`AllocationCollector.collect()` reports each group's budgets and the bytes used under its
paths. Measuring that means walking the tree (like `du`), which for a 2 TB model or database
directory takes minutes, so each path's size is cached and re-measured at most every
`refresh_interval` seconds (10 minutes by default). By default walks run on one background
thread: a cycle never waits for them beyond `first_wait` seconds on the very first walk, and a
group whose size is not known yet simply has no `opsplan_group_storage_used_bytes` sample.
A path that does not exist counts 0 bytes and is reported with `opsplan_group_path_present 0`.

`rollup(plan, samples)` turns the GPU collector's samples of the same cycle into per-group
GPU figures; the runner calls it after every collector has returned.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path

from opsplan.metrics import MetricSpec, Sample, gauge, labels_of, sample
from opsplan.plan.models import Plan

log = logging.getLogger(__name__)

METRICS: dict[str, MetricSpec] = {
    "opsplan_group_info": gauge("Always 1; the group's display name in the plan's language", "group", "name"),
    "opsplan_group_memory_budget_bytes": gauge("Memory the plan allots to the group", "group", unit="bytes"),
    "opsplan_group_storage_budget_bytes": gauge("Storage the plan allots to the group", "group", unit="bytes"),
    "opsplan_group_storage_used_bytes": gauge(
        "Disk space used under the group's paths (like du; re-measured at most every 10 minutes)",
        "group", unit="bytes"),
    "opsplan_group_storage_usage_ratio": gauge("Storage used / storage budget (may exceed 1)", "group",
                                               unit="ratio"),
    "opsplan_group_path_present": gauge("1 when the group's path exists", "group", "path"),
    "opsplan_group_gpus": gauge("GPUs of the group that NVML sees and that answer (a lost or hung one "
                                "is not counted)", "group"),
    "opsplan_group_gpu_utilization_ratio": gauge("Mean utilization of the group's GPUs", "group",
                                                 unit="ratio"),
    "opsplan_group_gpu_memory_used_bytes": gauge("GPU memory in use across the group's GPUs", "group",
                                                 unit="bytes"),
    "opsplan_group_gpu_memory_total_bytes": gauge("GPU memory installed across the group's GPUs", "group",
                                                  unit="bytes"),
}

REFRESH_INTERVAL = 600.0


def tree_size(root: Path) -> int:
    """Bytes allocated on disk under `root`, like `du -s -B1`: symlinks are not followed,
    hard links count once, unreadable directories are skipped (and logged)."""
    seen_inodes: set[tuple[int, int]] = set()
    unreadable = 0
    total = 0

    def size_of(st: os.stat_result) -> int:
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in seen_inodes:
                return 0
            seen_inodes.add(key)
        blocks = getattr(st, "st_blocks", None)
        # st_blocks is in 512-byte units on every Unix; elsewhere the apparent size is the best there is.
        return blocks * 512 if blocks is not None else st.st_size

    top = os.lstat(root)
    total += size_of(top)
    if not stat.S_ISDIR(top.st_mode):
        return total
    stack = [os.fspath(root)]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        unreadable += 1
                        continue
                    total += size_of(st)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
        except OSError:
            unreadable += 1
    if unreadable:
        log.warning("storage scan of %s: %d entries could not be read; its size is a lower bound",
                    root, unreadable)
    return total


def _path_exists(path: Path) -> bool:
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


class AllocationCollector:
    """Per-group budgets and storage used (see the module docstring for the caching)."""

    name = "allocation"

    def __init__(self, plan: Plan, du: Callable[[Path], int] = tree_size, *,
                 clock: Callable[[], float] = time.monotonic, refresh_interval: float = REFRESH_INTERVAL,
                 background: bool = True, first_wait: float = 2.0):
        self._plan = plan
        self._du = du
        self._clock = clock
        self._refresh_interval = refresh_interval
        self._background = background
        self._first_wait = first_wait
        self._lock = threading.Lock()
        self._sizes: dict[Path, int | None] = {}  # None: the walk failed; the size is unknown
        self._measured_at: dict[Path, float] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def collect(self) -> list[Sample]:
        plan = self._plan
        present = {p: _path_exists(p) for g in plan.allocation for p in g.paths}
        self._refresh([p for p, exists in present.items() if exists])
        out: list[Sample] = []
        for group in plan.allocation:
            gid = group.id
            out.append(Sample("opsplan_group_info", 1.0,
                              labels_of(group=gid, name=group.name.get(plan.language))))
            out.append(sample("opsplan_group_memory_budget_bytes", group.memory, group=gid))
            out.append(sample("opsplan_group_storage_budget_bytes", group.storage, group=gid))
            used: int | None = 0
            for path in group.paths:
                out.append(sample("opsplan_group_path_present", 1 if present[path] else 0,
                                  group=gid, path=str(path)))
                if not present[path]:
                    continue
                with self._lock:
                    size = self._sizes.get(path)
                used = None if used is None or size is None else used + size
            if used is None:
                continue  # not measured yet (or the walk failed): unknown is not 0
            out.append(sample("opsplan_group_storage_used_bytes", used, group=gid))
            if group.storage > 0:
                out.append(sample("opsplan_group_storage_usage_ratio", used / group.storage, group=gid))
        return out

    # --- the cached walks ---------------------------------------------------------------------

    def _refresh(self, paths: list[Path]) -> None:
        if self._pending is not None and not self._pending.done():
            return  # still walking: stale paths are picked up by the first cycle after it ends
        now = self._clock()
        with self._lock:
            stale = [p for p in paths
                     if p not in self._measured_at or now - self._measured_at[p] >= self._refresh_interval]
            for path in stale:
                self._measured_at[path] = now
            first = any(p not in self._sizes for p in stale)
        if not stale:
            return
        if not self._background:
            self._measure(stale)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsplan-du")
        self._pending = self._pool.submit(self._measure, stale)
        if first and self._first_wait > 0:
            # Small trees then show up in the very first cycle; big ones a cycle or more later.
            wait_futures([self._pending], timeout=self._first_wait)

    def _measure(self, paths: list[Path]) -> None:
        for path in paths:
            size: int | None
            try:
                size = self._du(path)
            except FileNotFoundError:
                size = 0  # removed since the cycle looked: it holds nothing now
            except Exception as exc:  # one unreadable path must not stop the others
                log.warning("storage scan of %s failed: %s", path, exc)
                size = None
            with self._lock:
                self._sizes[path] = size

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background walk in progress; True when none is left running."""
        pending = self._pending
        if pending is None:
            return True
        done, _ = wait_futures([pending], timeout=timeout)
        return bool(done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def rollup(plan: Plan, samples: list[Sample]) -> list[Sample]:
    """Per-group GPU figures from the GPU collector's samples of the same cycle.

    Every plan group gets `opsplan_group_gpus`: its healthy GPUs (`opsplan_gpu_up 1`), so a GPU
    that is lost, hung or unreadable leaves the count (0 when none is healthy); utilization and
    memory appear only when at least one of its GPUs reported them.
    """
    seen: dict[str, set[str]] = {g.id: set() for g in plan.allocation}
    utilization: dict[str, list[float]] = {}
    mem_used: dict[str, float] = {}
    mem_total: dict[str, float] = {}
    for s in samples:
        group, gpu = s.label("group"), s.label("gpu")
        if group is None or gpu is None or not s.name.startswith("opsplan_gpu_"):
            continue
        if s.name == "opsplan_gpu_up":
            seen.setdefault(group, set())
            if s.value == 1:
                seen[group].add(gpu)
        elif s.name == "opsplan_gpu_utilization_ratio":
            utilization.setdefault(group, []).append(s.value)
        elif s.name == "opsplan_gpu_memory_used_bytes":
            mem_used[group] = mem_used.get(group, 0.0) + s.value
        elif s.name == "opsplan_gpu_memory_total_bytes":
            mem_total[group] = mem_total.get(group, 0.0) + s.value
    out: list[Sample] = []
    for group, gpus in seen.items():
        out.append(sample("opsplan_group_gpus", len(gpus), group=group))
    for group, values in utilization.items():
        out.append(sample("opsplan_group_gpu_utilization_ratio", sum(values) / len(values), group=group))
    for group, used in mem_used.items():
        out.append(sample("opsplan_group_gpu_memory_used_bytes", used, group=group))
    for group, total in mem_total.items():
        out.append(sample("opsplan_group_gpu_memory_total_bytes", total, group=group))
    return out
