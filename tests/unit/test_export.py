"""`opsplan export`: the same rules as the embedded engine, configs that point at each other, and a
writer that replaces only what it owns."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import yaml_writer
from opsplan.cli.main import app
from opsplan.export import render_export, targets_for
from opsplan.export.promql import label_value, rule_expr, selector
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry


def _load(text: str) -> dict:
    return YAML(typ="safe").load(text)


def _export(tmp_path: Path, plan_overrides: dict, *args: str) -> tuple[int, str, Path]:
    plan = yaml_writer.write_plan(tmp_path, plan_overrides)
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["--plan", str(plan), "export", "--out", str(out), *args])
    return result.exit_code, result.output, out


def _rules_by_id(text: str) -> dict[str, dict]:
    return {r["annotations"]["opsplan_rule"]: r for r in _load(text)["groups"][0]["rules"]}


def test_exported_rules_are_the_embedded_rules():
    plan = Plan(language="en")
    files = render_export(plan, targets_for(plan), Path("/tmp/x"), metric_registry())
    exported = _rules_by_id(files["prometheus/rules.yml"])
    embedded = build_rules(plan, metric_registry())
    assert sorted(exported) == sorted(r.id for r in embedded)
    for rule in embedded:
        body = exported[rule.id]
        assert body["alert"] == rule.alert
        assert body["labels"]["severity"] == rule.severity
        assert rule.condition.metric.replace("_age_", "_timestamp_") in body["expr"].replace("_age_", "_timestamp_")
        assert f"{rule.condition.op} {rule.condition.threshold:.10g}" in body["expr"]
    # The seed's §3.2 values, in metric units, with their 5-minute durations.
    assert exported["cpu.critical"]["expr"].startswith("opsplan_cpu_usage_ratio > 0.9 ")
    assert exported["cpu.warning"]["for"] == "5m"
    assert exported["api_error_rate.critical"]["expr"].endswith(
        "and on(service) (opsplan_api_requests_per_second > 0)")
    assert exported["api_response_time.warning"]["expr"].startswith(
        'opsplan_api_response_seconds{quantile="0.95"} > 2 ')
    disk = next(r for r in embedded if r.id == "disk.critical")
    assert exported["disk.critical"]["annotations"]["description"] == disk.description.en.format(
        subject="mountpoint {{ $labels.mountpoint }}", value="{{ $value | humanizePercentage }}", threshold="90%")
    assert "for" not in exported["backup_age.critical"]  # due at once, as in the engine


def test_hysteresis_keeps_a_firing_alert_until_below_the_clear_level():
    plan = Plan()
    cpu = next(r for r in build_rules(plan, metric_registry()) if r.id == "cpu.critical")
    assert rule_expr(cpu) == ('opsplan_cpu_usage_ratio > 0.9 or (opsplan_cpu_usage_ratio > 0.855 and on() '
                              'ALERTS{alertname="CpuUsageHigh",alertstate="firing",severity="critical"})')


def test_korean_plan_writes_korean_annotations_and_custom_rules(tmp_path: Path):
    code, output, out = _export(tmp_path, {"monitoring": {"rules": [{
        "alert": "QueueLong", "metric": "opsplan_api_waiting_requests", "match": {"service": 'llm "api"'},
        "op": ">=", "threshold": 50, "for": "2m", "severity": "critical",
        "summary": {"ko": "대기 요청이 {value} 입니다 {{x}}", "en": "Queue {value}"}}]}, "web": {"port": 9100}})
    assert code == 0, output
    rules = _rules_by_id((out / "prometheus/rules.yml").read_text(encoding="utf-8"))
    custom = rules["custom.QueueLong.0"]
    assert custom["expr"].startswith('opsplan_api_waiting_requests{service="llm \\"api\\""} >= 50 or (')
    assert custom["for"] == "2m" and custom["labels"] == {"severity": "critical", "source": "custom"}
    # Operator braces stay literal; {value} becomes Prometheus's template.
    assert custom["annotations"]["summary"] == "대기 요청이 {{ $value | humanize }} 입니다 {{ `{{` }}x{{ `}}` }}"
    assert rules["cpu.critical"]["annotations"]["summary"] == "CPU 사용률이 높습니다"


def test_alertmanager_routes_inhibits_and_points_at_opsplan(tmp_path: Path):
    token = tmp_path / "token"
    token.write_text("s3cret-token-value\n")
    token.chmod(0o600)
    code, output, out = _export(tmp_path, {"notifications": {"critical_repeat": "10m"}},
                                "--opsplan-url", "http://10.0.0.5:8080", "--token-file", str(token))
    assert code == 0, output
    text = (out / "alertmanager/alertmanager.yml").read_text()
    assert "s3cret-token-value" not in text
    config = _load(text)
    routes = {tuple(r["matchers"]): r for r in config["route"]["routes"]}
    assert routes[('severity="critical"',)]["repeat_interval"] == "10m"
    assert routes[('severity="warning"',)]["repeat_interval"] == "24h"
    assert config["route"]["group_by"][0] == "alertname" and "mountpoint" in config["route"]["group_by"]
    [inhibit] = config["inhibit_rules"]
    assert inhibit["source_matchers"] == ['severity="critical"']
    assert inhibit["target_matchers"] == ['severity="warning"']
    assert set(inhibit["equal"]) >= {"alertname", "mountpoint", "service"}
    [hook] = config["receivers"][0]["webhook_configs"]
    assert hook["url"] == "http://10.0.0.5:8080/api/v1/alertmanager" and hook["send_resolved"] is True
    assert hook["http_config"]["authorization"]["credentials_file"] == str(token.resolve())
    prometheus = _load((out / "prometheus/prometheus.yml").read_text())
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["10.0.0.5:8080"]
    assert prometheus["global"]["scrape_interval"] == "15s"  # the plan's interval
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]


def test_a_second_export_replaces_its_own_files_and_leaves_others(tmp_path: Path):
    code, output, out = _export(tmp_path, {"web": {"port": 9100}})
    assert code == 0, output
    assert "wrote 13 files" in output or "파일 13개" in output  # 10 for Prometheus and Grafana, 3 for systemd
    mine = out / "prometheus" / "notes.txt"
    mine.write_text("operator's own file")
    service_board = out / "grafana/dashboards/opsplan-service-llm-api.json"
    assert service_board.exists()
    # The plan loses its service: its dashboard goes, the operator's file stays.
    code, output, out = _export(tmp_path, {"web": {"port": 9100}, "services": []})
    assert code == 0, output
    assert not service_board.exists()
    assert mine.read_text() == "operator's own file"


def test_refuses_to_overwrite_what_it_did_not_write_unless_forced(tmp_path: Path):
    out = tmp_path / "export"
    (out / "prometheus").mkdir(parents=True)
    foreign = out / "prometheus" / "rules.yml"
    foreign.write_text("groups: []\n")
    code, output, _ = _export(tmp_path, {"web": {"port": 9100}})
    assert code == 1
    assert output.strip().splitlines() == [
        f"opsplan: {foreign}: was not written by opsplan export (use --force to replace it)"]
    assert foreign.read_text() == "groups: []\n"
    code, output, _ = _export(tmp_path, {"web": {"port": 9100}}, "--force")
    assert code == 0, output
    assert "CpuUsageHigh" in foreign.read_text()
    # An operator's edit to an exported file is not silently lost either.
    foreign.write_text(foreign.read_text() + "# tuned by hand\n")
    code, output, _ = _export(tmp_path, {"web": {"port": 9100}})
    assert code == 1 and "changed since opsplan exported it" in output


@pytest.mark.parametrize(("args", "message"), [
    (["--opsplan-url", "ftp://x"], "opsplan URL: expected an http(s) URL"),
    (["--opsplan-url", "http://user:pw@h:1"], "credentials do not belong in a URL"),
    (["--scrape-interval", "often"], "--scrape-interval: invalid duration 'often'"),
    ([], "web.port is 0 (any free port): give --opsplan-url"),
])
def test_bad_options_are_one_line_errors(tmp_path: Path, args: list[str], message: str):
    code, output, out = _export(tmp_path, {}, *args)  # write_plan's web.port is 0
    assert code in (1, 2)
    lines = output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], output
    assert not (out / "prometheus").exists()


def test_label_values_are_escaped_as_promql_strings():
    value = 'llm "api" C:\\new\nline\ttab'
    assert label_value(value) == '"llm \\"api\\" C:\\\\new\\nline\\ttab"'
    assert selector("opsplan_api_up", (("service", value), ("group", "ai"))) == \
        'opsplan_api_up{service="llm \\"api\\" C:\\\\new\\nline\\ttab",group="ai"}'
    assert selector("opsplan_cpu_usage_ratio", ()) == "opsplan_cpu_usage_ratio"


def test_custom_rule_matchers_and_the_alerts_selector_are_escaped():
    plan = Plan.model_validate({"monitoring": {"rules": [{
        "alert": "Odd", "metric": "opsplan_api_up", "match": {"service": 'a\\"b'}, "op": "<", "threshold": 1,
        "summary": {"ko": "a", "en": "b"}}]}})
    custom = next(r for r in build_rules(plan, metric_registry()) if r.alert == "Odd")
    assert rule_expr(custom) == ('opsplan_api_up{service="a\\\\\\"b"} < 1 or (opsplan_api_up{service="a\\\\\\"b"} '
                                 '< 1.05 and on(service) ALERTS{alertname="Odd",alertstate="firing",'
                                 'severity="warning",source="custom"})')
