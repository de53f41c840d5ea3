"""The status view: the last cycle's samples arranged as an operator reads the plan."""

from __future__ import annotations

import time
from typing import Any

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.metrics import Cycle, SampleIndex
from opsplan.plan.models import AllocationGroup as GroupOfPlan
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB
from opsplan.web.status_alerts import collectors_down_since, open_alerts
from opsplan.web.status_backups import backups, drill
from opsplan.web.status_incidents import open_incidents

# Why a GPU is down (opsplan_gpu_fault_info's reasons), in the operator's words.
GPU_FAULT_TEXT = {
    "lost": "status.gpu_fault.lost", "hung": "status.gpu_fault.hung",
    "no_permission": "status.gpu_fault.no_permission", "unreadable": "status.gpu_fault.unreadable",
}

# A collector by the words people use (literal catalogue keys, as alerts/format.py's subjects); a
# collector not here keeps its name.
_COLLECTOR_KEY = {"system": "collector.system", "gpu": "collector.gpu", "mariadb": "collector.mariadb",
                  "services": "collector.services", "allocation": "collector.allocation",
                  "backup": "collector.backup", "backup_files": "collector.backup_files", "rpo": "collector.rpo",
                  "drills": "collector.drills", "groups": "collector.groups", "containers": "collector.containers",
                  "checks": "collector.checks", "incidents": "collector.incidents"}


def _gpu(index: SampleIndex, gpu: str, lang: str) -> dict[str, Any]:
    fault = next((s.label("reason") for s in index.all("opsplan_gpu_fault_info", gpu=gpu)), None)
    fault = fault if fault in GPU_FAULT_TEXT else "unreadable"
    return {
        "gpu": gpu,
        "missing": index.value("opsplan_gpu_missing", gpu=gpu) == 1,
        "down": index.value("opsplan_gpu_up", gpu=gpu) == 0,
        "no_reading": (index.value("opsplan_gpu_up", gpu=gpu) is None
                       and index.value("opsplan_gpu_utilization_ratio", gpu=gpu) is None),
        "fault_text": t(GPU_FAULT_TEXT[fault], lang),
        "utilization_ratio": index.value("opsplan_gpu_utilization_ratio", gpu=gpu),
        "memory_used_bytes": index.value("opsplan_gpu_memory_used_bytes", gpu=gpu),
        "memory_total_bytes": index.value("opsplan_gpu_memory_total_bytes", gpu=gpu),
        "temperature_celsius": index.value("opsplan_gpu_temperature_celsius", gpu=gpu),
        "power_watts": index.value("opsplan_gpu_power_watts", gpu=gpu),
        # Unknown (not 0) when the GPU collector said nothing of this GPU this cycle.
        "processes": (len(index.all("opsplan_gpu_process_memory_bytes", gpu=gpu))
                      if index.value("opsplan_gpu_up", gpu=gpu) is not None else None),
    }


# The services collector's probe failure reasons, in the operator's words.
PROBE_FAILURE_TEXT = {
    "certificate": "status.probe.certificate", "tls": "status.probe.tls", "ca_file": "status.probe.ca_file",
    "connect": "status.probe.connect", "timeout": "status.probe.timeout", "status": "status.probe.status",
    "error": "status.probe.error",
}


def _members(index: SampleIndex, group: GroupOfPlan) -> list[dict[str, Any]]:
    """What runs in the group: units and cgroups, then containers with their health."""
    out = []
    for member in group.members:
        name = member.label
        if member.container is None:
            labels = {"group": group.id, "member": name}
            out.append({"name": name, "kind": "unit" if member.unit else "cgroup",
                        "up": index.value("opsplan_group_member_up", **labels),
                        "memory_used_bytes": index.value("opsplan_group_member_memory_used_bytes", **labels),
                        "healthy": None, "restarts": None})
        else:
            labels = {"group": group.id, "container": name}
            out.append({"name": name, "kind": "container",
                        "up": index.value("opsplan_container_up", **labels),
                        "memory_used_bytes": index.value("opsplan_container_memory_used_bytes", **labels),
                        "healthy": index.value("opsplan_container_healthy", **labels),
                        "restarts": index.value("opsplan_container_restarts_total", **labels)})
    return out


def _storage(index: SampleIndex, group: GroupOfPlan) -> dict[str, Any]:
    """Use against budget; a path that does not exist is named (its 0 bytes are not a use)."""
    missing = [str(p) for p in group.paths
               if index.value("opsplan_group_path_present", group=group.id, path=str(p)) == 0]
    return {"storage_budget_bytes": group.storage,
            "storage_used_bytes": index.value("opsplan_group_storage_used_bytes", group=group.id),
            "storage_usage_ratio": index.value("opsplan_group_storage_usage_ratio", group=group.id),
            "paths_missing": missing,
            "storage_all_missing": bool(group.paths) and len(missing) == len(group.paths)}


def build_status(plan: Plan, cycle: Cycle | None, *, store_error: str | None = None,
                 language: str | None = None, alerts: Any = None, state_db: StateDB | None = None,
                 now: float | None = None) -> dict[str, Any]:
    """`state_db`: where the backup catalogs are, for a failed backup's reason (none: no reason shown)."""
    lang = language or plan.language
    # Ages and next runs as of the figures shown (the last cycle), so the page agrees with itself.
    if now is None:
        now = cycle.timestamp if cycle else time.time()
    index = SampleIndex(cycle.samples if cycle else [])
    tz = plan.timezone
    groups = []
    for group in plan.allocation:
        groups.append({
            "id": group.id,
            "name": group.name.get(lang),
            "purposes": [p.get(lang) for p in group.purposes],
            "gpus": [_gpu(index, str(i), lang) for i in group.gpus],
            "gpu_utilization_ratio": index.value("opsplan_group_gpu_utilization_ratio", group=group.id),
            "memory_budget_bytes": group.memory,
            "memory_used_bytes": index.value("opsplan_group_memory_used_bytes", group=group.id),
            "memory_usage_ratio": index.value("opsplan_group_memory_usage_ratio", group=group.id),
            "members": _members(index, group),
            **_storage(index, group),
        })
    services = []
    for service in plan.services:
        name = service.name
        why = next((s.label("reason") for s in index.all("opsplan_api_probe_failure_info", service=name)), None)
        services.append({
            "name": name,
            "up": index.value("opsplan_api_up", service=name),
            "down_reason": why,
            "down_reason_text": t(PROBE_FAILURE_TEXT[why], lang) if why in PROBE_FAILURE_TEXT else None,
            "response_p95_seconds": index.value("opsplan_api_response_seconds", service=name, quantile="0.95"),
            "error_ratio": index.value("opsplan_api_error_ratio", service=name),
            "requests_per_second": index.value("opsplan_api_requests_per_second", service=name),
            "concurrent_users": index.value("opsplan_api_concurrent_users", service=name),
        })
    down = collectors_down_since(alerts)
    version = [s.label("version") for s in index.all("opsplan_mariadb_info")]
    reason = [s.label("reason") for s in index.all("opsplan_mariadb_last_error_info")]
    last = None
    if cycle:
        last = {
            "timestamp": cycle.timestamp,
            "local_time": fmt.iso_local(cycle.timestamp, tz),
            "shown_time": fmt.local_time(cycle.timestamp, tz, zone_name=True),
            "seconds": round(cycle.seconds, 3),
        }
    return {
        "server": plan.server.name,
        "language": lang,
        "timezone": plan.timezone,
        "last_cycle": last,
        "store_error": store_error,
        "system": {
            "cpu_usage_ratio": index.value("opsplan_cpu_usage_ratio"),
            "memory_usage_ratio": index.value("opsplan_memory_usage_ratio"),
            "swap_usage_ratio": index.value("opsplan_swap_usage_ratio"),
            "disks": [{"mountpoint": s.label("mountpoint"), "usage_ratio": s.value}
                      for s in index.all("opsplan_disk_usage_ratio")],
            "interfaces": [{"interface": s.label("interface"), "up": s.value}
                           for s in index.all("opsplan_network_up")],
        },
        "gpu_count": index.value("opsplan_gpu_count"),
        "gpu_expected": len(plan.expected_gpus()),
        "groups": groups,
        "services": services,
        "mariadb": {
            "up": index.value("opsplan_mariadb_up"),
            "version": version[0] if version else None,
            "down_reason": reason[0] if reason else None,
            "threads_connected": index.value("opsplan_mariadb_threads_connected"),
            "connection_usage_ratio": index.value("opsplan_mariadb_connection_usage_ratio"),
            "queries_per_second": index.value("opsplan_mariadb_queries_per_second"),
            "replication_configured": index.value("opsplan_mariadb_replication_configured") == 1,
            "replication_lag_seconds": index.value("opsplan_mariadb_replication_lag_seconds"),
            "slow_queries": index.value("opsplan_mariadb_slow_queries_total"),
        },
        "alerts": open_alerts(alerts, lang, tz),
        "alerts_known": alerts is not None,  # without an engine the page cannot say "no alert"
        "backups": backups(plan, index, now, lang, state_db),
        "drill": drill(plan, index, now, lang),
        "incidents": open_incidents(plan, state_db, lang, now),
        "collectors": [{"name": s.name, "up": s.up, "reason": s.reason, "seconds": round(s.seconds, 3),
                        "title": t(_COLLECTOR_KEY[s.name], lang) if s.name in _COLLECTOR_KEY else s.name,
                        "down_since_shown": None if s.up else fmt.local_time(down.get(s.name), tz, zone_name=True,
                                                                              missing=None)}
                       for s in (cycle.statuses if cycle else [])],
    }
