"""The cgroup reader on fixture trees of each layout (the paths are injected), and where systemd
and Docker put a unit's or a container's cgroup. Real cgroups: tests/integration/test_collector_groups.py."""

from __future__ import annotations

from pathlib import Path

from opsplan.collectors.cgroupfs import CgroupFs, slice_path
from opsplan.collectors.docker import cgroup_candidates


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_unified_layout_reads_current_max_and_usage(tmp_path: Path) -> None:
    write(tmp_path / "cgroup.controllers", "cpu memory\n")
    unit = tmp_path / "system.slice" / "mariadb.service"
    write(unit / "memory.current", "2147483648\n")
    write(unit / "memory.max", "4294967296\n")
    write(unit / "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n")
    write(tmp_path / "ai.slice" / "memory.current", "1000\n")
    write(tmp_path / "ai.slice" / "memory.max", "max\n")
    fs = CgroupFs(tmp_path)
    assert fs.layout == "unified"
    figures = fs.read("system.slice/mariadb.service")
    assert figures is not None
    assert (figures.memory_bytes, figures.memory_limit_bytes, figures.cpu_seconds) == (2**31, 2**32, 2.5)
    assert fs.find_unit("mariadb.service") == "system.slice/mariadb.service"
    slice_figures = fs.read("/ai.slice/")
    assert slice_figures is not None and slice_figures.memory_limit_bytes is None  # "max": no limit
    assert fs.read("system.slice/absent.service") is None  # not running
    assert fs.find_unit("absent.service") is None


def test_hybrid_layout_takes_memory_from_v1_and_cpu_from_v2(tmp_path: Path) -> None:
    write(tmp_path / "unified" / "cgroup.controllers", "\n")
    write(tmp_path / "unified" / "user.slice" / "app.service" / "cpu.stat", "usage_usec 750000\n")
    write(tmp_path / "memory" / "user.slice" / "app.service" / "memory.usage_in_bytes", "52428800\n")
    write(tmp_path / "memory" / "user.slice" / "app.service" / "memory.limit_in_bytes", "9223372036854771712\n")
    fs = CgroupFs(tmp_path)
    assert fs.layout == "hybrid"
    # Not in system.slice: found by a shallow search of the v2 tree.
    assert fs.find_unit("app.service") == "user.slice/app.service"
    figures = fs.read("user.slice/app.service")
    assert figures is not None
    assert figures.memory_bytes == 50 * 1024 * 1024
    assert figures.memory_limit_bytes is None  # v1's "unlimited" is a huge number, not a limit
    assert figures.cpu_seconds == 0.75


def test_no_cgroup_filesystem_is_said(tmp_path: Path) -> None:
    fs = CgroupFs(tmp_path)
    assert fs.layout is None and fs.read("system.slice") is None


def test_slices_nest_by_their_dashes() -> None:
    assert slice_path("ai.slice") == "ai.slice"
    assert slice_path("ai-llm-vllm.slice") == "ai.slice/ai-llm.slice/ai-llm-vllm.slice"
    assert slice_path("-.slice") == ""


def test_container_cgroups_follow_the_docker_cgroup_driver() -> None:
    cid = "ab" * 32
    assert cgroup_candidates(cid, "") == [f"system.slice/docker-{cid}.scope", f"docker/{cid}"]
    assert cgroup_candidates(cid, "ai-llm.slice")[0] == f"ai.slice/ai-llm.slice/docker-{cid}.scope"
    assert cgroup_candidates(cid, "/custom/parent")[0] == f"custom/parent/{cid}"
    # A parent that would climb out of the cgroup tree is ignored.
    assert cgroup_candidates(cid, "../../etc") == [f"system.slice/docker-{cid}.scope", f"docker/{cid}"]


def test_the_plan_init_writes_builds_no_member_collectors_and_members_turn_them_on(tmp_path: Path) -> None:
    from opsplan.collectors.build import build_collectors
    from opsplan.metrics import sample
    from opsplan.plan.models import GroupMember, Plan

    default, _ = build_collectors(Plan(), environ={})
    assert not {"groups", "containers"} & {c.name for c in default}

    plan = Plan()
    plan.allocation[0].members = [GroupMember(unit="ai.slice")]
    plan.allocation[1].members = [GroupMember(container="api")]
    collectors, rollups = build_collectors(plan, environ={})
    try:
        assert {"groups", "containers"} <= {c.name for c in collectors}
        samples = [sample("opsplan_group_member_up", 1, group="ai", member="ai.slice"),
                   sample("opsplan_group_member_memory_used_bytes", 3e9, group="ai", member="ai.slice"),
                   sample("opsplan_container_up", 0, group="app", container="api")]
        rolled = [s for rollup in rollups for s in rollup(samples)]
        used = {s.label("group"): s.value for s in rolled if s.name == "opsplan_group_memory_used_bytes"}
        assert used == {"ai": 3e9, "app": 0.0}  # a stopped container uses nothing
    finally:
        for collector in collectors:
            close = getattr(collector, "close", None)
            if callable(close):
                close()
