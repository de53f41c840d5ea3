"""The export checked by the real tools: promtool check rules/config, amtool check-config, and
`promtool test rules` unit tests generated for every seed §3.2 threshold (just below and just above,
shorter and longer than the duration, the traffic guard, the hysteresis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import yaml_writer
from opsplan.cli.main import app
from opsplan.export.promql import threshold_text
from opsplan.plan.models import Plan
from opsplan.rules.model import Rule, build_rules
from opsplan.stages.all import metric_registry
from prometheus_stack import AMTOOL, PROMTOOL, run_tool

pytestmark = pytest.mark.skipif(PROMTOOL is None or AMTOOL is None,
                                reason="promtool/amtool not installed (Debian prometheus, prometheus-alertmanager)")

CUSTOM_RULE = {"alert": "QueueLong", "metric": "opsplan_api_waiting_requests", "match": {"service": "llm-api"},
               "op": ">=", "threshold": 50, "for": "2m", "severity": "critical",
               "summary": {"ko": "대기 요청 {value}", "en": "Queue {value} (threshold {threshold})"}}


def _export(tmp_path: Path, overrides: dict[str, Any]) -> Path:
    plan = yaml_writer.write_plan(tmp_path, {"web": {"port": 9100}, "language": "en", **overrides})
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["--plan", str(plan), "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("overrides", [{}, {"monitoring": {"rules": [CUSTOM_RULE]}}], ids=["default", "custom"])
def test_promtool_and_amtool_accept_the_export(tmp_path: Path, overrides: dict[str, Any]):
    out = _export(tmp_path, overrides)
    rules = run_tool("promtool", "check", "rules", str(out / "prometheus/rules.yml"))
    expected = len(build_rules(Plan.model_validate(overrides), metric_registry()))
    assert rules.returncode == 0 and f"SUCCESS: {expected} rules found" in rules.stdout, rules.stdout + rules.stderr
    config = run_tool("promtool", "check", "config", str(out / "prometheus/prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    am = run_tool("amtool", "check-config", str(out / "alertmanager/alertmanager.yml"))
    assert am.returncode == 0 and "1 inhibit rules" in am.stdout, am.stdout + am.stderr


# --- promtool test rules, generated from the rule model ----------------------------------------

def _go_g4(value: float) -> str:
    return f"{value:.4g}"


def humanize_percentage(value: float) -> str:
    return f"{value * 100:.4g}%"


def humanize_duration(value: float) -> str:
    # Prometheus's humanizeDuration, for the positive values these tests use.
    if value < 1:
        return f"{value * 1000:.4g}ms"
    seconds = int(value)
    days, hours, minutes, secs = seconds // 86400, seconds // 3600 % 24, seconds // 60 % 60, seconds % 60
    if days:
        return f"{days}d {hours}h {minutes}m {secs}s"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{value:.4g}s"


def _value_text(rule: Rule, value: float) -> str:
    metric = rule.condition.metric
    if metric.endswith("_ratio"):
        return humanize_percentage(value)
    if metric.endswith("_seconds"):
        return humanize_duration(value)
    return _go_g4(value)


def expected_alert(rule: Rule, labels: dict[str, str], value: float) -> dict[str, Any]:
    subject = " ".join(f"{name} {labels[name]}" for name in rule.subject)
    fields = {"subject": subject, "value": _value_text(rule, value),
              "threshold": threshold_text(rule.unit, rule.condition.threshold)}
    return {"exp_labels": {**labels, "severity": rule.severity, **dict(rule.labels)},
            "exp_annotations": {"summary": rule.summary.en.format(**fields).strip(),
                                "description": rule.description.en.format(**fields).strip(),
                                "threshold": fields["threshold"], "opsplan_rule": rule.id}}


@dataclass
class Case:
    """One promtool test group: series (one value per minute), then what fires at a minute."""

    name: str
    series: dict[str, list[float]]
    checks: list[tuple[int, str, list[tuple[str, dict[str, str], float]]]] = field(default_factory=list)
    interval: str = "1m"


def _series(metric: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{metric}{{{inner}}}" if inner else metric


def _pair_cases(key: str, metric: str, labels: dict[str, str], alert: str) -> list[Case]:
    s = _series(metric, labels)

    def hold(*parts: tuple[float, int]) -> dict[str, list[float]]:
        return {s: [v for value, n in parts for v in [value] * n]}

    return [
        Case(f"{key}: just below warning", hold((0.799, 10)), [(7, alert, [])]),
        Case(f"{key}: just above warning, longer than for", hold((0.801, 10)),
             [(4, alert, []), (7, alert, [("warning", labels, 0.801)])]),
        Case(f"{key}: just above warning, shorter than for", hold((0.801, 4), (0.5, 6)), [(7, alert, [])]),
        Case(f"{key}: just below critical", hold((0.899, 10)), [(7, alert, [("warning", labels, 0.899)])]),
        Case(f"{key}: just above critical, longer than for", hold((0.901, 10)),
             [(7, alert, [("critical", labels, 0.901), ("warning", labels, 0.901)])]),
        Case(f"{key}: just above critical, shorter than for", hold((0.901, 4), (0.85, 6)),
             [(7, alert, [("warning", labels, 0.85)])]),
        # Hysteresis (5 % of the threshold): 0.87 keeps a firing Critical, 0.80 clears it; the
        # Warning stays on at 0.80 because it clears only below 0.76.
        Case(f"{key}: hysteresis", hold((0.95, 7), (0.87, 3), (0.80, 4)),
             [(8, alert, [("critical", labels, 0.87), ("warning", labels, 0.87)]),
              (11, alert, [("warning", labels, 0.80)])]),
    ]


def _cases() -> list[Case]:
    svc = {"service": "llm-api"}
    ratio, rps = _series("opsplan_api_error_ratio", svc), _series("opsplan_api_requests_per_second", svc)
    p95 = {**svc, "quantile": "0.95"}
    slow, median = _series("opsplan_api_response_seconds", p95), \
        _series("opsplan_api_response_seconds", {**svc, "quantile": "0.5"})
    return [
        *_pair_cases("cpu", "opsplan_cpu_usage_ratio", {}, "CpuUsageHigh"),
        *_pair_cases("memory", "opsplan_memory_usage_ratio", {}, "MemoryUsageHigh"),
        *_pair_cases("disk", "opsplan_disk_usage_ratio", {"mountpoint": "/"}, "DiskUsageHigh"),
        Case("error rate: just below 1 %", {ratio: [0.0099] * 10, rps: [5] * 10}, [(7, "ApiErrorRateHigh", [])]),
        Case("error rate: just above 1 %, longer than for", {ratio: [0.0101] * 10, rps: [5] * 10},
             [(4, "ApiErrorRateHigh", []), (7, "ApiErrorRateHigh", [("critical", svc, 0.0101)])]),
        Case("error rate: just above 1 %, shorter than for", {ratio: [0.0101] * 4 + [0.0] * 6, rps: [5] * 10},
             [(7, "ApiErrorRateHigh", [])]),
        Case("error rate: high with zero traffic", {ratio: [0.5] * 10, rps: [0] * 10},
             [(7, "ApiErrorRateHigh", [])]),
        Case("error rate: traffic stops before for", {ratio: [0.5] * 10, rps: [5.0] * 3 + [0.0] * 7},
             [(7, "ApiErrorRateHigh", [])]),
        Case("response time: just below 2 s", {slow: [1.99] * 10, median: [3.0] * 10},
             [(7, "ApiResponseTimeHigh", [])]),
        Case("response time: just above 2 s, longer than for", {slow: [2.01] * 10},
             [(4, "ApiResponseTimeHigh", []), (7, "ApiResponseTimeHigh", [("warning", p95, 2.01)])]),
        Case("response time: just above 2 s, shorter than for", {slow: [2.01] * 4 + [0.5] * 6},
             [(7, "ApiResponseTimeHigh", [])]),
        Case("a GPU lost or hung alerts at once",
             {_series("opsplan_gpu_up", {"gpu": "1", "group": "ai"}): [1, 1, 0, 0, 1]},
             [(1, "GpuDown", []), (2, "GpuDown", [("critical", {"gpu": "1", "group": "ai"}, 0)]),
              (4, "GpuDown", [])]),
        Case("Xid events alert while recent",
             {_series("opsplan_gpu_xid_events_recent", {"gpu": "0", "group": "ai"}): [0, 0, 2, 2, 0]},
             [(1, "GpuXidErrors", []), (2, "GpuXidErrors", [("warning", {"gpu": "0", "group": "ai"}, 2)]),
              (4, "GpuXidErrors", [])]),
        Case("PCIe replays growing alert",
             {_series("opsplan_gpu_pcie_replays_recent", {"gpu": "3", "group": "app"}): [0, 5, 0]},
             [(0, "GpuPcieReplays", []), (1, "GpuPcieReplays", [("warning", {"gpu": "3", "group": "app"}, 5)])]),
        Case("api down for longer than 1m", {_series("opsplan_api_up", svc): [1, 0, 0, 0, 0]},
             [(1, "ApiDown", []), (3, "ApiDown", [("critical", svc, 0)])]),
        # IncidentResponseOverdue: one alert per incident severity, at once, gone when nothing is overdue
        Case("an overdue incident alerts per incident severity",
             {_series("opsplan_incidents_response_overdue", {"incident_severity": "critical"}): [0, 0, 1, 2, 0],
              _series("opsplan_incidents_response_overdue", {"incident_severity": "major"}): [0, 0, 0, 0, 0]},
             [(1, "IncidentResponseOverdue", []),
              (3, "IncidentResponseOverdue", [("critical", {"incident_severity": "critical"}, 2)]),
              (4, "IncidentResponseOverdue", [])]),
        Case("database backup older than 26h",
             {_series("opsplan_backup_last_success_timestamp_seconds", {"target": "database"}): [0] * 30},
             [(25, "BackupTooOld", []), (27, "BackupTooOld", [("critical", {"target": "database"}, 27 * 3600)])],
             interval="1h"),
    ]


def _test_file(rules: list[Rule], cases: list[Case]) -> dict[str, Any]:
    by_alert_severity: dict[tuple[str, str], Rule] = {(r.alert, r.severity): r for r in rules}
    tests = []
    for case in cases:
        unit = case.interval[-1]
        tests.append({
            "name": case.name, "interval": case.interval,
            "input_series": [{"series": s, "values": " ".join(f"{v:g}" for v in values)}
                             for s, values in case.series.items()],
            "alert_rule_test": [{
                "eval_time": f"{minute}{unit}", "alertname": alert,
                "exp_alerts": [expected_alert(by_alert_severity[(alert, sev)], labels, value)
                               for sev, labels, value in expected]} for minute, alert, expected in case.checks],
        })
    return {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}


def test_every_seed_threshold_holds_in_promtool_unit_tests(tmp_path: Path):
    out = _export(tmp_path, {})
    rules = build_rules(Plan(language="en"), metric_registry())
    test_file = out / "prometheus" / "rules_test.yml"
    with test_file.open("w", encoding="utf-8") as fh:
        YAML(typ="safe").dump(_test_file(rules, _cases()), fh)
    result = run_tool("promtool", "test", "rules", test_file.name, cwd=test_file.parent)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_catch_a_wrong_threshold(tmp_path: Path):
    # The generated tests can fail: a plan with CPU warning at 85 % breaks the 80 % expectations.
    out = _export(tmp_path, {"monitoring": {"alerts": {"cpu": {"warning": 85, "critical": 90}}}})
    rules = build_rules(Plan(language="en"), metric_registry())
    test_file = out / "prometheus" / "rules_test.yml"
    with test_file.open("w", encoding="utf-8") as fh:
        YAML(typ="safe").dump(_test_file(rules, _pair_cases("cpu", "opsplan_cpu_usage_ratio", {}, "CpuUsageHigh")),
                              fh)
    result = run_tool("promtool", "test", "rules", test_file.name, cwd=test_file.parent)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_a_label_value_with_quotes_backslashes_and_newlines_matches_in_prometheus(tmp_path: Path):
    # The exported selector must match exactly the operator's value: escaped, not broken or altered.
    value = 'llm "api" C:\\new\nline'
    rule_data = {**CUSTOM_RULE, "match": {"service": value}}
    out = _export(tmp_path, {"monitoring": {"rules": [rule_data]}})
    plan = Plan.model_validate({"language": "en", "monitoring": {"rules": [rule_data]}})
    rules = build_rules(plan, metric_registry())
    check = run_tool("promtool", "check", "rules", str(out / "prometheus/rules.yml"))
    assert check.returncode == 0 and f"SUCCESS: {len(rules)} rules found" in check.stdout, check.stdout + check.stderr
    # The input series is written by hand, independently of the exporter's escaping.
    series = 'opsplan_api_waiting_requests{service="llm \\"api\\" C:\\\\new\\nline"}'
    other = 'opsplan_api_waiting_requests{service="llm \\"api\\" C:\\new\\nline"}'  # "\n" where "\\n" was
    case = Case("escaped label value", {series: [60] * 6, other: [60] * 6},
                [(1, "QueueLong", []), (4, "QueueLong", [("critical", {"service": value}, 60)])])
    test_file = out / "prometheus" / "rules_test.yml"
    with test_file.open("w", encoding="utf-8") as fh:
        YAML(typ="safe").dump(_test_file(rules, [case]), fh)
    result = run_tool("promtool", "test", "rules", test_file.name, cwd=test_file.parent)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
