"""AllocationCollector on tmp_path trees of known size, with a fake clock; rollup over GPU samples."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from opsplan.collectors.allocation import METRICS, AllocationCollector, rollup, tree_size
from opsplan.collectors.gpu import GpuCollector
from opsplan.collectors.nvml_fake import FakeNvml
from opsplan.metrics import Sample, sample
from opsplan.plan.models import Plan

GB = 10**9


def find(samples: list[Sample], metric: str, /, **labels: str) -> list[Sample]:
    return [s for s in samples if s.name == metric and all(s.label(k) == v for k, v in labels.items())]


def one(samples: list[Sample], metric: str, /, **labels: str) -> float:
    found = find(samples, metric, **labels)
    assert len(found) == 1, f"{metric}{labels}: {found}"
    return found[0].value


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plan_with_paths(ai: list[Path], app: list[Path], language: str = "en") -> Plan:
    return Plan.model_validate({"language": language, "allocation": [
        {"id": "ai", "name": {"ko": "AI 시스템", "en": "AI system"}, "gpus": [0, 1, 2],
         "memory": 128 * GB, "storage": 2000, "paths": [str(p) for p in ai]},
        {"id": "app", "name": {"ko": "애플리케이션/DB", "en": "Application/DB"}, "gpus": [3],
         "memory": 64 * GB, "storage": 10**12, "paths": [str(p) for p in app]},
    ]})


def apparent(path: Path) -> int:
    """A du stand-in that counts file sizes, so a test knows the exact answer."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def test_budgets_names_and_storage_used_per_group(tmp_path: Path) -> None:
    write(tmp_path / "ai" / "models" / "a.bin", 700)
    write(tmp_path / "ai" / "vectors" / "b.idx", 300)
    write(tmp_path / "app" / "api.log", 50)
    write(tmp_path / "mysql" / "ibdata1", 25)
    plan = plan_with_paths([tmp_path / "ai"], [tmp_path / "app", tmp_path / "mysql"])
    s = AllocationCollector(plan, du=apparent, background=False).collect()
    assert {x.name for x in s} <= set(METRICS)
    assert one(s, "opsplan_group_storage_used_bytes", group="ai") == 1000
    assert one(s, "opsplan_group_storage_usage_ratio", group="ai") == pytest.approx(0.5)
    assert one(s, "opsplan_group_storage_used_bytes", group="app") == 75
    assert one(s, "opsplan_group_storage_budget_bytes", group="app") == 10**12
    assert one(s, "opsplan_group_memory_budget_bytes", group="ai") == 128 * GB
    assert one(s, "opsplan_group_memory_budget_bytes", group="app") == 64 * GB
    assert one(s, "opsplan_group_info", group="app", name="Application/DB") == 1
    assert one(s, "opsplan_group_path_present", group="app", path=str(tmp_path / "mysql")) == 1


def test_group_names_follow_the_plans_language(tmp_path: Path) -> None:
    plan = plan_with_paths([], [], language="ko")
    s = AllocationCollector(plan, du=apparent, background=False).collect()
    assert one(s, "opsplan_group_info", group="ai", name="AI 시스템") == 1
    assert one(s, "opsplan_group_info", group="app", name="애플리케이션/DB") == 1


def test_a_missing_path_counts_zero_and_is_reported_absent(tmp_path: Path) -> None:
    write(tmp_path / "app" / "f", 40)
    plan = plan_with_paths([tmp_path / "nope"], [tmp_path / "app", tmp_path / "gone"])
    calls: list[Path] = []

    def du(path: Path) -> int:
        calls.append(path)
        return apparent(path)

    s = AllocationCollector(plan, du=du, background=False).collect()
    assert one(s, "opsplan_group_path_present", group="ai", path=str(tmp_path / "nope")) == 0
    assert one(s, "opsplan_group_path_present", group="app", path=str(tmp_path / "gone")) == 0
    assert one(s, "opsplan_group_storage_used_bytes", group="ai") == 0
    assert one(s, "opsplan_group_storage_used_bytes", group="app") == 40
    assert calls == [tmp_path / "app"]  # nothing walked for a path that is not there


def test_sizes_are_cached_for_ten_minutes(tmp_path: Path) -> None:
    write(tmp_path / "ai" / "a", 100)
    clock = Clock()
    calls: list[Path] = []

    def du(path: Path) -> int:
        calls.append(path)
        return apparent(path)

    collector = AllocationCollector(plan_with_paths([tmp_path / "ai"], []), du=du, clock=clock,
                                    background=False)
    assert one(collector.collect(), "opsplan_group_storage_used_bytes", group="ai") == 100
    write(tmp_path / "ai" / "b", 400)
    clock.now += 599
    assert one(collector.collect(), "opsplan_group_storage_used_bytes", group="ai") == 100  # cached
    assert len(calls) == 1
    clock.now += 1
    assert one(collector.collect(), "opsplan_group_storage_used_bytes", group="ai") == 500
    assert len(calls) == 2


def test_a_failing_walk_leaves_the_group_unknown_not_zero(tmp_path: Path) -> None:
    (tmp_path / "ai").mkdir()

    def du(path: Path) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    s = AllocationCollector(plan_with_paths([tmp_path / "ai"], []), du=du, background=False).collect()
    assert find(s, "opsplan_group_storage_used_bytes", group="ai") == []
    assert one(s, "opsplan_group_storage_used_bytes", group="app") == 0
    assert one(s, "opsplan_group_storage_budget_bytes", group="ai") == 2000


def test_background_walk_does_not_hold_up_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "ai").mkdir()
    release = threading.Event()

    def slow_du(path: Path) -> int:
        release.wait(10)
        return 1234

    collector = AllocationCollector(plan_with_paths([tmp_path / "ai"], []), du=slow_du, first_wait=0.05)
    try:
        s = collector.collect()  # the walk is still running: no number rather than a wrong one
        assert find(s, "opsplan_group_storage_used_bytes", group="ai") == []
        assert one(s, "opsplan_group_storage_budget_bytes", group="ai") == 2000
        release.set()
        assert collector.wait(5)
        assert one(collector.collect(), "opsplan_group_storage_used_bytes", group="ai") == 1234
    finally:
        release.set()
        collector.close()


def test_small_trees_are_measured_within_the_first_cycle(tmp_path: Path) -> None:
    write(tmp_path / "ai" / "a", 10)
    collector = AllocationCollector(plan_with_paths([tmp_path / "ai"], []), du=apparent)
    try:
        assert one(collector.collect(), "opsplan_group_storage_used_bytes", group="ai") == 10
    finally:
        collector.close()


def test_tree_size_matches_du(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    write(root / "a" / "one", 10_000)
    write(root / "a" / "b" / "two", 123_456)
    write(root / "c" / "three", 1)
    os.link(root / "a" / "one", root / "c" / "hardlink")  # counted once, as du does
    os.symlink(root / "a", root / "c" / "loop")  # not followed
    with open(root / "sparse", "wb") as fh:  # 10 MB apparent, almost nothing allocated
        fh.truncate(10 * 1024 * 1024)
    du = subprocess.run(["du", "-s", "-B1", str(root)], capture_output=True, text=True, check=True)
    assert tree_size(root) == int(du.stdout.split()[0])
    assert tree_size(root) < 10 * 1024 * 1024


def test_tree_size_skips_unreadable_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "open" / "f", 5000)
    write(tmp_path / "closed" / "g", 5000)
    full = tree_size(tmp_path)
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        # chmod 0 does not stop root, which the tests may run as; refuse the directory here instead.
        if str(path) == str(tmp_path / "closed"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    partial = tree_size(tmp_path)
    assert 5000 <= partial < full
    assert "1 entries could not be read" in caplog.text


# --- rollups over the GPU collector's samples ------------------------------------------------------------


def test_rollup_from_the_gpu_collectors_samples() -> None:
    gib = 1024**3
    gpus = [{"utilization": {"gpu": u, "memory": 0}, "memory": {"total": 20 * gib, "used": m * gib}}
            for u, m in ((30, 1), (60, 2), (90, 3))]  # GPU 3 (app) is missing
    plan = Plan()
    gpu_samples = GpuCollector(plan, nvml=FakeNvml({"gpus": gpus})).collect()
    s = rollup(plan, gpu_samples)
    assert {x.name for x in s} <= set(METRICS)
    assert one(s, "opsplan_group_gpus", group="ai") == 3
    assert one(s, "opsplan_group_gpus", group="app") == 0
    assert one(s, "opsplan_group_gpu_utilization_ratio", group="ai") == pytest.approx(0.6)
    assert one(s, "opsplan_group_gpu_memory_used_bytes", group="ai") == 6 * gib
    assert one(s, "opsplan_group_gpu_memory_total_bytes", group="ai") == 60 * gib
    assert find(s, "opsplan_group_gpu_utilization_ratio", group="app") == []  # unknown, not 0


def test_rollup_ignores_other_collectors_and_counts_unassigned() -> None:
    samples = [sample("opsplan_cpu_usage_ratio", 0.5), sample("opsplan_disk_used_bytes", 9, mountpoint="/"),
               sample("opsplan_gpu_up", 1, gpu=7, group="unassigned"),
               sample("opsplan_gpu_utilization_ratio", 0.25, gpu=7, group="unassigned")]
    s = rollup(Plan(), samples)
    assert one(s, "opsplan_group_gpus", group="unassigned") == 1
    assert one(s, "opsplan_group_gpu_utilization_ratio", group="unassigned") == 0.25
    assert one(s, "opsplan_group_gpus", group="ai") == 0


def test_a_lost_gpu_leaves_its_groups_count() -> None:
    # An Xid 79: the card stays enumerated and every call answers "GPU is lost".
    gpus = [{"uuid": f"GPU-{i}", "utilization": {"gpu": 50, "memory": 0}, "temperature": 40} for i in range(4)]
    gpus[1]["errors"] = {"*": "GpuIsLost"}
    plan = Plan()
    s = rollup(plan, GpuCollector(plan, nvml=FakeNvml({"gpus": gpus})).collect())
    assert one(s, "opsplan_group_gpus", group="ai") == 2
    assert one(s, "opsplan_group_gpus", group="app") == 1
