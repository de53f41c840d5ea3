"""A bad custom rule in the plan is one `opsplan plan check` line naming file, line and key."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from opsplan.cli.main import app
from opsplan.plan.models import Alerts, Plan
from opsplan.rules.check import BUILT_IN_ALERTS
from opsplan.rules.model import BUILT_IN, BUILT_INS, build_rules, thresholds
from opsplan.stages.all import metric_registry

RULE = """\
monitoring:
  rules:
    - alert: GpuPowerHigh
      metric: {metric}
      match: {match}
      threshold: 120
      summary: {{ko: "GPU 전력", en: "GPU power"}}
      description: {{ko: "{{subject}} {{value}}", en: "{description}"}}
{extra}"""

CASES = {
    "unknown metric": (dict(metric="opsplan_gpu_power_wats"),
                       "opsplan.yaml:4: monitoring.rules[0].metric: unknown metric 'opsplan_gpu_power_wats' "
                       "(did you mean 'opsplan_gpu_power_watts'?); for a metric from another exporter set "
                       "external: true"),
    "label the metric does not have": (dict(match="{mountpoint: /}"),
                                       "opsplan.yaml:5: monitoring.rules[0].match.mountpoint: metric "
                                       "opsplan_gpu_power_watts has no label 'mountpoint' (its labels: gpu, group)"),
    "invalid label name": (dict(match='{"gpu-id": "0"}'),
                           "opsplan.yaml:5: monitoring.rules[0].match.gpu-id: invalid label name 'gpu-id'"),
    "unknown placeholder": (dict(description="{subject} at {valeu}"),
                            "opsplan.yaml:8: monitoring.rules[0].description.en: unknown placeholder {valeu} "
                            "(use {subject}, {value}, {threshold})"),
    "duplicate": (dict(extra="    - {alert: GpuPowerHigh, metric: opsplan_gpu_power_watts, threshold: 1, "
                             "summary: {ko: a, en: b}}\n"),
                  "opsplan.yaml:9: monitoring.rules[1].alert: duplicate rule 'GpuPowerHigh' with severity "
                  "warning (also monitoring.rules[0])"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_rule_is_one_line(case, tmp_path, monkeypatch):
    values, expected = CASES[case]
    fields = {"metric": "opsplan_gpu_power_watts", "match": '{gpu: "0"}',
              "description": "{subject} power {value}", "extra": ""} | values
    (tmp_path / "opsplan.yaml").write_text(RULE.format(**fields), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plan", "check", "opsplan.yaml"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [expected]


def test_an_external_metric_is_accepted_and_alerts_per_matched_labels(tmp_path, monkeypatch):
    text = RULE.format(metric="node_hwmon_temp_celsius", match='{chip: "nvme0"}', description="x",
                       extra="      external: true\n")
    (tmp_path / "opsplan.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, ["plan", "check", "opsplan.yaml"]).exit_code == 0


def test_the_seed_rules_have_the_contract_names_and_ratios():
    rules = {r.id: r for r in build_rules(Plan(), metric_registry())}
    assert (rules["cpu.critical"].condition.threshold, rules["cpu.warning"].condition.threshold) == (0.9, 0.8)
    assert rules["cpu.warning"].clear_threshold == pytest.approx(0.76)
    assert rules["disk.critical"].subject == ("mountpoint",)
    assert rules["api_error_rate.critical"].condition.threshold == pytest.approx(0.01)
    assert rules["api_response_time.warning"].condition.matchers == (("quantile", "0.95"),)
    assert {r.alert for r in rules.values()} >= {"CpuUsageHigh", "MemoryUsageHigh", "DiskUsageHigh",
                                                 "ApiErrorRateHigh", "ApiResponseTimeHigh", "BackupTooOld"}


@pytest.mark.parametrize("name", ["BackupFailed", "DrillFailed", "RpoTargetExceeded", "RtoTargetMissed",
                                  "RpoTargetMissed", "CpuUsageHigh", "BackupTooOld"])
def test_a_custom_rule_may_not_take_a_built_in_name(name, tmp_path, monkeypatch):
    text = RULE.format(metric="opsplan_gpu_power_watts", match='{gpu: "0"}', description="x", extra="")
    (tmp_path / "opsplan.yaml").write_text(text.replace("GpuPowerHigh", name), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plan", "check", "opsplan.yaml"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"opsplan.yaml:3: monitoring.rules[0].alert: '{name}' is a built-in alert; change its settings under "
        "monitoring.alerts or give this rule its own name"]


def _everything_on() -> Plan:
    """Every built-in rule switched on, with both levels where a rule has two."""
    alerts: dict[str, object] = {}
    for key, spec in Alerts.model_fields.items():
        kind = spec.annotation
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            continue
        fields = kind.model_fields
        settings: dict[str, object] = {"enabled": True} if "enabled" in fields else {}
        if "warning" in fields:
            settings |= {"critical": 95, "warning": 80} if key != "api_response_time" else \
                {"critical": 5, "warning": 2}
        alerts[key] = settings
    return Plan.model_validate({"monitoring": {"alerts": alerts}})


def test_the_built_in_names_are_every_name_build_rules_gives():
    emitted = {r.alert for r in build_rules(_everything_on(), metric_registry())}
    assert emitted == BUILT_IN_ALERTS
    assert {b.alert for b in BUILT_INS} == BUILT_IN_ALERTS
    # Every settings block under monitoring.alerts is one built-in rule family, and its ids say so.
    assert {b.key for b in BUILT_INS} == {k for k in Alerts.model_fields if k != "hysteresis"}
    assert {r.id.split(".")[0] for r in build_rules(_everything_on(), metric_registry())} == {b.key for b in BUILT_INS}
    # A rule reads the metric its built-in says, whichever severities the plan turns on.
    for rule in build_rules(_everything_on(), metric_registry()):
        assert rule.condition.metric == BUILT_IN[rule.id.split(".")[0]].metric


def test_turning_built_ins_off_does_not_free_their_names():
    off = {k: {"enabled": False} for k, spec in Alerts.model_fields.items()
           if isinstance(spec.annotation, type) and issubclass(spec.annotation, BaseModel)
           and "enabled" in spec.annotation.model_fields}
    plan = Plan.model_validate({"monitoring": {"alerts": off}})
    emitted = {r.alert for r in build_rules(plan, metric_registry())}
    assert "BackupFailed" not in emitted and "DrillFailed" not in emitted
    assert {"BackupFailed", "DrillFailed", "RpoTargetExceeded", "RtoTargetMissed", "RpoTargetMissed"} \
        <= BUILT_IN_ALERTS


def test_the_plan_percentages_are_converted_once_in_the_rule_model():
    plan = Plan.model_validate({"monitoring": {"alerts": {"cpu": {"critical": 95, "warning": 70},
                                                          "gpu_temperature": {"critical": 88, "warning": 80}}}})
    rules = {r.id: r.condition.threshold for r in build_rules(plan, metric_registry())}
    assert thresholds(plan, "cpu") == {"critical": rules["cpu.critical"], "warning": rules["cpu.warning"]}
    assert thresholds(plan, "cpu") == {"critical": pytest.approx(0.95), "warning": pytest.approx(0.70)}
    assert thresholds(plan, "gpu_temperature") == {"critical": 88, "warning": 80}
    assert thresholds(Plan(), "api_error_rate") == {"critical": pytest.approx(0.01)}
