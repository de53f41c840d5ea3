"""Builds the collectors a plan asks for (the collection stage; `opsplan collect` uses it alone)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opsplan.collectors.base import Collector
from opsplan.collectors.runner import Rollup
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan


def collection_families() -> dict[str, MetricSpec]:
    """Every metric family the collectors (and the runner around them) emit."""
    from opsplan.collectors import allocation, docker, gpu, mariadb, members, runner, services, system

    families: dict[str, MetricSpec] = {}
    for module in (runner, system, gpu, allocation, members, docker, mariadb, services):
        families.update(module.METRICS)
    return families


def build_collectors(plan: Plan, environ: Mapping[str, str] = os.environ, *,
                     one_shot: bool = False) -> tuple[list[Collector], list[Rollup]]:
    """The collectors of one cycle; `one_shot` (collect --once) for a run that never retries NVML."""
    from opsplan.collectors.allocation import AllocationCollector, rollup
    from opsplan.collectors.gpu import GpuCollector, default_nvml
    from opsplan.collectors.mariadb import MariaDBCollector
    from opsplan.collectors.members import memory_rollup
    from opsplan.collectors.services import ServicesCollector
    from opsplan.collectors.system import SystemCollector
    from opsplan.plan.secrets import read_database_password

    # The filesystems opsplan itself writes to, and the groups' storage, are watched wherever they are.
    watched = [plan.data_dir, plan.backup.directory, *(p for group in plan.allocation for p in group.paths)]
    collectors: list[Collector] = [
        SystemCollector(watch=watched),
        GpuCollector(plan, nvml=default_nvml(environ), retry_interval=None if one_shot else 300.0),
        AllocationCollector(plan),
        MariaDBCollector(plan.database, password=read_database_password(plan.database, environ)),
    ]
    if plan.services:
        collectors.append(ServicesCollector(plan.services))
    collectors += member_collectors(plan)

    def group_rollup(samples: list) -> list:
        return rollup(plan, samples) + memory_rollup(plan, samples)

    return collectors, [group_rollup]


def member_collectors(plan: Plan, cgroup_root: Path | None = None) -> list[Collector]:
    """The groups' members: units and cgroup paths, and Docker containers when the plan uses them."""
    from opsplan.collectors.cgroupfs import DEFAULT_ROOT, CgroupFs
    from opsplan.collectors.docker import ContainersCollector
    from opsplan.collectors.members import MembersCollector

    members = [m for group in plan.allocation for m in group.members]
    wants_docker = plan.monitoring.docker.enabled or any(m.container is not None for m in members)
    if not members and not wants_docker:
        return []
    fs = CgroupFs(cgroup_root or DEFAULT_ROOT)
    out: list[Collector] = []
    if any(m.container is None for m in members):
        out.append(MembersCollector(plan, fs))
    if wants_docker:
        out.append(ContainersCollector(plan, fs))
    return out
