"""Memory and CPU of what runs in each allocation group (seed §1.2: 128 GB each), from cgroups.

A group's `members` name systemd units or slices, cgroup paths, or Docker containers. This
collector reads the first two; `collectors/docker.py` reads containers. `memory_rollup` then adds
up each group's members into `opsplan_group_memory_used_bytes`, beside the budget the plan gives it.
A member that is not running counts 0 bytes; a group with a member whose figure is unknown (the
Docker API is down, the host keeps no memory accounting for it) gets no sum: unknown is not 0.
"""

from __future__ import annotations

from opsplan.collectors.cgroupfs import CgroupFs
from opsplan.errors import CollectorError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample
from opsplan.plan.models import GroupMember, Plan

METRICS: dict[str, MetricSpec] = {
    "opsplan_group_memory_used_bytes": gauge(
        "Memory used by the group's members (cgroup memory.current, page cache included), summed; "
        "absent when a member's figure is unknown", "group", unit="bytes"),
    "opsplan_group_memory_usage_ratio": gauge("Group memory used / the group's memory budget (may exceed 1)",
                                              "group", unit="ratio"),
    "opsplan_group_member_up": gauge("1 when the member's cgroup exists (the unit is running)",
                                     "group", "member"),
    "opsplan_group_member_memory_used_bytes": gauge("Memory used by the member's cgroup", "group", "member",
                                                    unit="bytes"),
    "opsplan_group_member_memory_limit_bytes": gauge("Memory limit of the member's cgroup; absent when unlimited",
                                                     "group", "member", unit="bytes"),
    "opsplan_group_member_cpu_seconds_total": counter("CPU time used by the member's cgroup since it started",
                                                      "group", "member", unit="seconds"),
}


def cgroup_path(fs: CgroupFs, member: GroupMember) -> str | None:
    if member.unit is not None:
        return fs.find_unit(member.unit)
    if member.cgroup is not None:
        return member.cgroup.strip("/")
    return None


class MembersCollector:
    """Per-member figures for the units and cgroup paths the plan's groups name."""

    name = "groups"

    def __init__(self, plan: Plan, fs: CgroupFs | None = None) -> None:
        self._plan = plan
        self._fs = fs or CgroupFs()

    def collect(self) -> list[Sample]:
        fs = self._fs
        if fs.layout is None:
            raise CollectorError(f"no cgroup filesystem at {fs.root}: group memory cannot be measured")
        out: list[Sample] = []
        for group in self._plan.allocation:
            for member in group.members:
                if member.container is not None:
                    continue
                labels = {"group": group.id, "member": member.label}
                path = cgroup_path(fs, member)
                figures = fs.read(path) if path is not None else None
                out.append(sample("opsplan_group_member_up", 0 if figures is None else 1, **labels))
                if figures is None:
                    continue
                if figures.memory_bytes is not None:
                    out.append(sample("opsplan_group_member_memory_used_bytes", figures.memory_bytes, **labels))
                if figures.memory_limit_bytes is not None:
                    out.append(sample("opsplan_group_member_memory_limit_bytes", figures.memory_limit_bytes,
                                      **labels))
                if figures.cpu_seconds is not None:
                    out.append(sample("opsplan_group_member_cpu_seconds_total", figures.cpu_seconds, **labels))
        return out


def memory_rollup(plan: Plan, samples: list[Sample]) -> list[Sample]:
    """Each group's members' memory, summed, and its share of the group's budget."""
    up: dict[tuple[str, str], float] = {}
    used: dict[tuple[str, str], float] = {}
    for s in samples:
        if s.name == "opsplan_group_member_up":
            up[(s.label("group") or "", s.label("member") or "")] = s.value
        elif s.name == "opsplan_group_member_memory_used_bytes":
            used[(s.label("group") or "", s.label("member") or "")] = s.value
        elif s.name == "opsplan_container_up":
            up[(s.label("group") or "", s.label("container") or "")] = s.value
        elif s.name == "opsplan_container_memory_used_bytes":
            used[(s.label("group") or "", s.label("container") or "")] = s.value
    out: list[Sample] = []
    for group in plan.allocation:
        if not group.members:
            continue
        total = 0.0
        known = True
        for member in group.members:
            key = (group.id, member.label)
            if key not in up:
                known = False  # its collector failed this cycle
            elif up[key] == 1:
                if key not in used:
                    known = False
                else:
                    total += used[key]
        if not known:
            continue
        out.append(sample("opsplan_group_memory_used_bytes", total, group=group.id))
        if group.memory > 0:
            out.append(sample("opsplan_group_memory_usage_ratio", total / group.memory, group=group.id))
    return out
