"""Grafana provisioning: the Prometheus datasource, a dashboard provider and the dashboard JSON.

Dashboards are built from small panel descriptions and laid out two per row, so ids and grid
positions are unique and valid by construction. Queries use only documented metric names
(docs/metrics.md); thresholds drawn on panels are the plan's, in the metric's units as the rule
model converts them (`opsplan.rules.model.thresholds`), and selectors are written by
`opsplan.export.promql.selector`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsplan.export.promql import selector
from opsplan.export.targets import ExportTargets
from opsplan.plan.models import Plan
from opsplan.rules.model import thresholds

DATASOURCE_UID = "opsplan-prometheus"
GRID_COLUMNS = 24
PANEL_WIDTH = 12
PANEL_HEIGHT = 8


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (query, legend)
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    thresholds: tuple[float, ...] = ()  # warning, critical (in the panel's unit)
    max: float | None = None


@dataclass
class Dashboard:
    uid: str
    title: str
    tags: list[str]
    panels: list[Panel] = field(default_factory=list)


def _steps(thresholds: tuple[float, ...]) -> list[dict[str, Any]]:
    colours = ["green", "orange", "red"]
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    for i, value in enumerate(sorted(thresholds)[:2]):
        steps.append({"color": colours[i + 1] if len(thresholds) > 1 else "red", "value": value})
    return steps


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit,
                                "thresholds": {"mode": "absolute", "steps": _steps(panel.thresholds)}}
    if panel.max is not None:
        defaults["min"], defaults["max"] = 0, panel.max
    if panel.thresholds and panel.kind == "timeseries":
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    datasource = {"type": "prometheus", "uid": DATASOURCE_UID}
    return {
        "id": panel_id, "type": panel.kind, "title": panel.title, "datasource": datasource,
        "gridPos": {"x": x, "y": y, "w": PANEL_WIDTH, "h": PANEL_HEIGHT},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "datasource": datasource, "expr": expr, "legendFormat": legend}
                    for i, (expr, legend) in enumerate(panel.exprs)],
    }


def dashboard_json(dashboard: Dashboard, refresh: str) -> dict[str, Any]:
    per_row = GRID_COLUMNS // PANEL_WIDTH
    panels = [panel_json(p, i + 1, (i % per_row) * PANEL_WIDTH, (i // per_row) * PANEL_HEIGHT)
              for i, p in enumerate(dashboard.panels)]
    return {"uid": dashboard.uid, "title": dashboard.title, "tags": dashboard.tags, "editable": True,
            "schemaVersion": 38, "version": 1, "refresh": refresh, "time": {"from": "now-6h", "to": "now"},
            "timezone": "browser", "panels": panels, "templating": {"list": []}, "annotations": {"list": []}}


def _levels(plan: Plan, key: str) -> tuple[float, ...]:
    """The built-in rule's warning and critical levels, as its alerts use them."""
    levels = thresholds(plan, key)
    return tuple(levels[s] for s in ("warning", "critical") if s in levels)


def _sel(metric: str, **labels: str) -> str:
    return selector(metric, tuple(labels.items()))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:30] or "x"


def overview(plan: Plan) -> Dashboard:
    return Dashboard("opsplan-overview", f"opsplan · {plan.server.name}", ["opsplan"], [
        Panel("CPU", (("opsplan_cpu_usage_ratio", "cpu"),), "percentunit",
              thresholds=_levels(plan, "cpu"), max=1),
        Panel("Memory", (("opsplan_memory_usage_ratio", "memory"), ("opsplan_swap_usage_ratio", "swap")),
              "percentunit", thresholds=_levels(plan, "memory"), max=1),
        Panel("Disk", (("opsplan_disk_usage_ratio", "{{mountpoint}}"),), "percentunit",
              thresholds=_levels(plan, "disk"), max=1),
        Panel("Load", (("opsplan_load1", "1m"), ("opsplan_load5", "5m"), ("opsplan_load15", "15m"))),
        Panel("GPUs visible / in the plan", (("opsplan_gpu_count", "visible"), ("opsplan_gpu_expected", "plan")),
              kind="stat"),
        Panel("Services up", (("opsplan_api_up", "{{service}}"),), kind="stat", thresholds=(1,)),
        Panel("MariaDB up", (("opsplan_mariadb_up", "mariadb"),), kind="stat", thresholds=(1,)),
        Panel("Collectors up", (("opsplan_collector_up", "{{collector}}"),), kind="stat", thresholds=(1,)),
        Panel("Network", (("rate(opsplan_network_receive_bytes_total[5m])", "{{interface}} in"),
                          ("rate(opsplan_network_transmit_bytes_total[5m])", "{{interface}} out")), "Bps"),
        Panel("Collection cycle", (("opsplan_cycle_duration_seconds", "cycle"),), "s"),
    ])


def gpus(plan: Plan) -> Dashboard:
    board = Dashboard("opsplan-gpus", "opsplan · GPUs per allocation group", ["opsplan", "gpu"])
    for group in plan.allocation:
        name = f"{group.name.get(plan.language)} ({group.id})"
        g = group.id
        board.panels += [
            Panel(f"{name}: GPU utilization", (
                (_sel("opsplan_group_gpu_utilization_ratio", group=g), "group"),
                (_sel("opsplan_gpu_utilization_ratio", group=g), "GPU {{gpu}}")), "percentunit", max=1),
            Panel(f"{name}: GPU memory", (
                (_sel("opsplan_gpu_memory_usage_ratio", group=g), "GPU {{gpu}}"),), "percentunit",
                  thresholds=_levels(plan, "gpu_memory"), max=1),
            Panel(f"{name}: temperature", ((_sel("opsplan_gpu_temperature_celsius", group=g), "GPU {{gpu}}"),),
                  "celsius", thresholds=_levels(plan, "gpu_temperature")),
            Panel(f"{name}: power", ((_sel("opsplan_gpu_power_watts", group=g), "GPU {{gpu}}"),
                                     (_sel("opsplan_gpu_power_limit_watts", group=g), "GPU {{gpu}} limit")),
                  "watt"),
            Panel(f"{name}: GPUs healthy / down / missing", (
                (_sel("opsplan_group_gpus", group=g), "healthy"),
                (f"count({_sel('opsplan_gpu_up', group=g)} == 0) or vector(0)", "down"),
                (f"sum({_sel('opsplan_gpu_missing', group=g)}) or vector(0)", "missing")), kind="stat"),
            Panel(f"{name}: storage used / budget", (
                (_sel("opsplan_group_storage_usage_ratio", group=g), "storage"),), "percentunit", thresholds=(1,)),
        ]
        if group.members:  # memory use is measured only for the members the plan names
            board.panels.append(Panel(f"{name}: memory used / budget", (
                (_sel("opsplan_group_memory_usage_ratio", group=g), "memory"),), "percentunit", thresholds=(1,)))
    return board


def service(plan: Plan, name: str) -> Dashboard:
    s = name
    return Dashboard(f"opsplan-service-{_slug(name)}", f"opsplan · service {name}", ["opsplan", "service"], [
        Panel("Up", ((_sel("opsplan_api_up", service=s), "up"),), kind="stat", thresholds=(1,)),
        Panel("Health probe", ((_sel("opsplan_api_probe_seconds", service=s), "probe"),), "s"),
        Panel("Requests per second", ((_sel("opsplan_api_requests_per_second", service=s), "requests/s"),), "reqps"),
        Panel("Error rate", ((_sel("opsplan_api_error_ratio", service=s), "errors"),), "percentunit",
              thresholds=_levels(plan, "api_error_rate")),
        Panel("Response time", ((_sel("opsplan_api_response_seconds", service=s, quantile="0.95"), "p95"),
                                (_sel("opsplan_api_response_seconds", service=s, quantile="0.5"), "p50")), "s",
              thresholds=_levels(plan, "api_response_time")),
        Panel("Concurrent users", ((_sel("opsplan_api_concurrent_users", service=s), "users"),)),
        Panel("Running / waiting requests", ((_sel("opsplan_api_running_requests", service=s), "running"),
                                             (_sel("opsplan_api_waiting_requests", service=s), "waiting"))),
        Panel("Responses by class", ((f"rate({_sel('opsplan_api_responses_total', service=s)}[5m])",
                                      "{{class}}"),), "reqps"),
        Panel("TLS certificate expires in", ((_sel("opsplan_api_tls_cert_expiry_seconds", service=s), "expiry"),),
              "s", kind="stat"),
    ])


def mariadb(plan: Plan) -> Dashboard:
    return Dashboard("opsplan-mariadb", "opsplan · MariaDB", ["opsplan", "mariadb"], [
        Panel("Up", (("opsplan_mariadb_up", "up"),), kind="stat", thresholds=(1,)),
        Panel("Connections", (("opsplan_mariadb_threads_connected", "connected"),
                              ("opsplan_mariadb_threads_running", "running"),
                              ("opsplan_mariadb_max_connections", "max"))),
        Panel("Queries per second", (("opsplan_mariadb_queries_per_second", "queries/s"),), "qps"),
        Panel("Slow queries", (("rate(opsplan_mariadb_slow_queries_total[5m])", "slow/s"),)),
        Panel("InnoDB buffer pool hit ratio", (("opsplan_mariadb_innodb_buffer_pool_hit_ratio", "hit"),),
              "percentunit", max=1),
        Panel("Replication lag", (("opsplan_mariadb_replication_lag_seconds", "lag"),), "s"),
        Panel("Data size", (("opsplan_mariadb_datadir_bytes", "datadir"), ("opsplan_mariadb_data_bytes", "data")),
              "bytes"),
        Panel("Aborted connects", (("rate(opsplan_mariadb_aborted_connects_total[5m])", "aborted/s"),)),
    ])


def backups(plan: Plan) -> Dashboard:
    return Dashboard("opsplan-backups", "opsplan · backups", ["opsplan", "backup"], [
        Panel("Time since the last successful backup",
              (("time() - opsplan_backup_last_success_timestamp_seconds", "{{target}}"),), "s",
              kind="stat", thresholds=_levels(plan, "backup_age")),
        Panel("Last backup status", (("opsplan_backup_last_status", "{{target}}"),), kind="stat"),
        Panel("Last backup size", (("opsplan_backup_last_size_bytes", "{{target}}"),), "bytes"),
        Panel("Last backup duration", (("opsplan_backup_last_duration_seconds", "{{target}}"),), "s"),
    ])


def dashboards(plan: Plan) -> list[Dashboard]:
    boards = [overview(plan), gpus(plan), *(service(plan, s.name) for s in plan.services), mariadb(plan),
              backups(plan)]
    seen: set[str] = set()
    for i, board in enumerate(boards):  # "a.b" and "a-b" slug alike: keep uids (and file names) unique
        if board.uid in seen:
            board.uid = f"{board.uid[:34]}-{i}"
        seen.add(board.uid)
    return boards


def datasource_config(targets: ExportTargets) -> dict[str, Any]:
    return {"apiVersion": 1, "datasources": [{
        "name": "opsplan Prometheus", "uid": DATASOURCE_UID, "type": "prometheus", "access": "proxy",
        "url": targets.prometheus.url, "isDefault": True, "editable": False,
        "jsonData": {"timeInterval": f"{targets.scrape_interval:g}s"}}]}


def provider_config(dashboards_dir: Path) -> dict[str, Any]:
    return {"apiVersion": 1, "providers": [{
        "name": "opsplan", "folder": "opsplan", "type": "file", "disableDeletion": False,
        "allowUiUpdates": False, "options": {"path": str(dashboards_dir)}}]}
