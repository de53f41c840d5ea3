"""Builds the collectors a plan asks for, and the catalogue of every metric they can emit."""

from __future__ import annotations

import os
from collections.abc import Mapping

from opsplan.collectors.base import Collector, MetricSpec
from opsplan.collectors.runner import Rollup
from opsplan.plan.models import Plan


def metric_catalogue() -> dict[str, MetricSpec]:
    """Every metric name opsplan exports, with its type and help (docs/metrics.md documents each)."""
    from opsplan.alerts import metrics as alert_metrics
    from opsplan.backup import drill_results as drill_metrics
    from opsplan.backup import files_metrics
    from opsplan.backup import metrics as db_backup_metrics
    from opsplan.backup import rpo as binlog_rpo_metrics
    from opsplan.collectors import allocation, gpu, mariadb, runner, services, system
    from opsplan.notify import service as notify_service

    catalogue: dict[str, MetricSpec] = {}
    for module in (runner, system, gpu, allocation, mariadb, services, notify_service, alert_metrics, files_metrics,
                   db_backup_metrics, binlog_rpo_metrics, drill_metrics):
        catalogue.update(module.METRICS)
    return catalogue


def build_collectors(plan: Plan, environ: Mapping[str, str] = os.environ) -> tuple[list[Collector], list[Rollup]]:
    from opsplan.collectors.allocation import AllocationCollector, rollup
    from opsplan.collectors.gpu import GpuCollector, default_nvml
    from opsplan.collectors.mariadb import MariaDBCollector
    from opsplan.collectors.services import ServicesCollector
    from opsplan.collectors.system import SystemCollector
    from opsplan.plan.secrets import read_database_password

    collectors: list[Collector] = [
        SystemCollector(),
        GpuCollector(plan, nvml=default_nvml(environ)),
        AllocationCollector(plan),
        MariaDBCollector(plan.database, password=read_database_password(plan.database, environ)),
    ]
    if plan.services:
        collectors.append(ServicesCollector(plan.services))

    def group_rollup(samples: list) -> list:
        return rollup(plan, samples)

    return collectors, [group_rollup]
