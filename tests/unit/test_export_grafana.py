"""Grafana is not packaged for Debian: the exported dashboards are checked the way Grafana would
trip over them (ids, grid), and every query is parsed by promtool and uses only documented metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from opsplan.export import render_export, targets_for
from opsplan.export.promql import BACKUP_METRICS
from opsplan.plan.models import GroupMember, Plan, Service
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry


def _plan() -> Plan:
    plan = Plan(language="en")
    plan.services = [Service(name="llm-api", group="app", url="http://127.0.0.1:8000/health"),
                     Service(name="embed.v2", group="ai", url="http://127.0.0.1:8001/health")]
    plan.allocation[0].members = [GroupMember(unit="ai.slice"), GroupMember(container="vllm")]
    return plan


def _boards(plan: Plan, out: Path) -> dict[str, dict]:
    files = render_export(plan, targets_for(plan), out, metric_registry())
    return {rel: json.loads(text) for rel, text in files.items() if rel.endswith(".json")}


def test_one_dashboard_per_part_of_the_plan(tmp_path: Path):
    boards = _boards(_plan(), tmp_path)
    titles = sorted(b["title"] for b in boards.values())
    assert titles == ["opsplan · GPUs per allocation group", "opsplan · MariaDB", "opsplan · ai-server-01",
                      "opsplan · backups", "opsplan · service embed.v2", "opsplan · service llm-api"]
    gpus = next(b for b in boards.values() if b["uid"] == "opsplan-gpus")
    # Every allocation group of the plan gets its panels, by its display name.
    assert any(p["title"].startswith("AI system (ai)") for p in gpus["panels"])
    assert any(p["title"].startswith("Application/DB (app)") for p in gpus["panels"])
    # Memory use against budget only where the plan names what runs in the group.
    memory = [p["title"] for p in gpus["panels"] if "memory used / budget" in p["title"]]
    assert memory == ["AI system (ai): memory used / budget"]
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)


def test_panels_have_unique_ids_and_non_overlapping_positions(tmp_path: Path):
    for rel, board in _boards(_plan(), tmp_path).items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), rel
        cells: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            g = panel["gridPos"]
            assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["y"] >= 0, (rel, panel["title"])
            assert g["x"] + g["w"] <= 24, (rel, panel["title"])
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{rel}: {panel['title']} overlaps another panel"
            cells |= mine
            assert panel["targets"], (rel, panel["title"])
            assert panel["datasource"]["uid"] == "opsplan-prometheus"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")
def test_every_query_parses_and_uses_documented_metrics(tmp_path: Path):
    known = set(metric_registry()) | set(BACKUP_METRICS)
    exprs = [t["expr"] for b in _boards(_plan(), tmp_path).values() for p in b["panels"] for t in p["targets"]]
    for expr in exprs:
        names = set(re.findall(r"\bopsplan_[a-z0-9_]+", expr))
        unknown = names - known
        assert not unknown, f"{expr}: undocumented metrics {unknown}"
        assert names, f"{expr}: refers to no opsplan metric"
    # promtool parses each query as the expression of a recording rule.
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"opsplan:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "queries.yml"
    with path.open("w") as fh:
        YAML(typ="safe").dump(rules, fh)
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards(tmp_path: Path):
    plan = _plan()
    plan.monitoring.prometheus_url = "http://prom.internal:9090"
    files = render_export(plan, targets_for(plan), tmp_path / "out", metric_registry())
    datasource = YAML(typ="safe").load(files["grafana/provisioning/datasources/opsplan.yaml"])
    [source] = datasource["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prom.internal:9090"
    assert source["uid"] == "opsplan-prometheus"
    provider = YAML(typ="safe").load(files["grafana/provisioning/dashboards/opsplan.yaml"])
    path = Path(provider["providers"][0]["options"]["path"])
    assert path == (tmp_path / "out" / "grafana" / "dashboards").resolve()
    assert {f"grafana/dashboards/{p}" for p in ("opsplan-overview.json", "opsplan-mariadb.json")} <= set(files)


def test_threshold_lines_are_the_rules_thresholds(tmp_path: Path):
    # The panels draw what the alerts compare with, converted once by the rule model.
    plan = _plan()
    plan.monitoring.alerts.cpu.warning, plan.monitoring.alerts.cpu.critical = 70, 95
    plan.monitoring.alerts.gpu_memory.critical = 99
    plan.monitoring.alerts.api_response_time.critical = 5
    rules: dict[str, list[float]] = {}
    for rule in build_rules(plan, metric_registry()):
        rules.setdefault(rule.id.split(".")[0], []).append(rule.condition.threshold)
    lines = {p["title"]: [s["value"] for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
             for b in _boards(plan, tmp_path).values() for p in b["panels"]}
    for title, key in [("CPU", "cpu"), ("Memory", "memory"), ("Disk", "disk"), ("Error rate", "api_error_rate"),
                       ("Response time", "api_response_time"), ("AI system (ai): GPU memory", "gpu_memory"),
                       ("AI system (ai): temperature", "gpu_temperature"),
                       ("Time since the last successful backup", "backup_age")]:
        assert lines[title] == sorted(rules[key]), title
    assert lines["CPU"] == pytest.approx([0.7, 0.95])
