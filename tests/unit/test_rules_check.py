"""A bad custom rule in the plan is one `opsplan plan check` line naming file, line and key."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from opsplan.cli.main import app
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
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
