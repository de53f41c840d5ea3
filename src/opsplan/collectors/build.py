"""Builds the collectors a plan asks for (the collection stage; `opsplan collect` uses it alone)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from opsplan.collectors.base import Collector
from opsplan.collectors.runner import Rollup
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan


def collection_families() -> dict[str, MetricSpec]:
    """Every metric family the collectors (and the runner around them) emit."""
    from opsplan.collectors import allocation, gpu, mariadb, runner, services, system

    families: dict[str, MetricSpec] = {}
    for module in (runner, system, gpu, allocation, mariadb, services):
        families.update(module.METRICS)
    return families


def build_collectors(plan: Plan, environ: Mapping[str, str] = os.environ, *,
                     one_shot: bool = False) -> tuple[list[Collector], list[Rollup]]:
    """The collectors of one cycle; `one_shot` (collect --once) for a run that never retries NVML."""
    from opsplan.collectors.allocation import AllocationCollector, rollup
    from opsplan.collectors.gpu import GpuCollector, default_nvml
    from opsplan.collectors.mariadb import MariaDBCollector
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

    def group_rollup(samples: list) -> list:
        return rollup(plan, samples)

    return collectors, [group_rollup]
