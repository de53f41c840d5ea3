"""The plan written for a Prometheus + Alertmanager + Grafana stack (seed §3.1), and `opsplan serve` as a
systemd service: `opsplan export`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from opsplan.export.grafana import dashboard_json, dashboards, datasource_config, provider_config
from opsplan.export.prometheus import alertmanager_config, prometheus_config
from opsplan.export.promql import rules_document
from opsplan.export.systemd import Install, systemd_files
from opsplan.export.targets import ExportTargets, targets_for
from opsplan.export.writer import WriteResult, to_json, to_yaml, write_export
from opsplan.metrics import MetricSpec
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules

__all__ = ["ExportTargets", "Install", "WriteResult", "export", "render_export", "targets_for"]


def render_export(plan: Plan, targets: ExportTargets, out: Path,
                  families: Mapping[str, MetricSpec], install: Install | None = None) -> dict[str, str]:
    """Every file of the export, relative path -> text. `out` is only used for the dashboards' path;
    `families` are every stage's metric families (units for the rules' annotations); `install`
    (where opsplan and the plan are installed) adds the systemd unit and its companions."""
    rules = build_rules(plan, families)
    refresh = f"{max(5, int(targets.scrape_interval))}s"
    files = {
        "prometheus/rules.yml": to_yaml(rules_document(rules, plan)),
        "prometheus/prometheus.yml": to_yaml(prometheus_config(plan, targets)),
        "alertmanager/alertmanager.yml": to_yaml(alertmanager_config(plan, rules, targets)),
        "grafana/provisioning/datasources/opsplan.yaml": to_yaml(datasource_config(targets)),
        "grafana/provisioning/dashboards/opsplan.yaml": to_yaml(
            provider_config(out.resolve() / "grafana" / "dashboards")),
    }
    for board in dashboards(plan):
        files[f"grafana/dashboards/{board.uid}.json"] = to_json(dashboard_json(board, refresh))
    if install is not None:
        files.update(systemd_files(plan, install))
    return files


def export(plan: Plan, out: Path, targets: ExportTargets, families: Mapping[str, MetricSpec], *,
           install: Install | None = None, force: bool = False) -> WriteResult:
    return write_export(out, render_export(plan, targets, out, families, install), force=force)
