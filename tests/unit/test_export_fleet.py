"""`opsplan fleet export`: many hosts' plans as one Prometheus target list, per-host rules that keep
their names and carry the `host` label, an Alertmanager config routing each host's alerts to its
own opsplan, the cluster members' flags, and dashboards with a `host` variable; checked by the real
promtool and amtool. Bad input is one line and writes nothing."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

import yaml_writer
from opsplan.cli.main import app
from opsplan.export.promql import with_matcher
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry

PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
needs_tools = pytest.mark.skipif(PROMTOOL is None or AMTOOL is None,
                                 reason="promtool/amtool not installed (Debian prometheus, prometheus-alertmanager)")


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _host_plan(tmp_path: Path, name: str, port: int, **overrides: Any) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return yaml_writer.write_plan(directory, {"language": "en", "server": {"name": name},
                                              "web": {"port": port}, **overrides})


def _fleet(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["fleet", "export", *args, "--out", str(out)])
    return result.exit_code, result.output, out


def _two_hosts(tmp_path: Path) -> list[str]:
    first = _host_plan(tmp_path, "ai-01", 8081)
    second = _host_plan(tmp_path, "ai-02", 8082, monitoring={"interval": "30s", "alerts": {"cpu": {
        "warning": 70, "critical": 85}}}, allocation=[{"id": "research", "name": {"ko": "연구", "en": "Research"},
                                                      "gpus": [0, 1], "memory": "64GB", "storage": "1TB"}],
        services=[{"name": "chat-api", "group": "research", "url": "http://127.0.0.1:9/health"}])
    return [str(first), str(second)]


@needs_tools
def test_two_hosts_export_checked_by_promtool_and_amtool(tmp_path: Path):
    code, output, out = _fleet(tmp_path, *_two_hosts(tmp_path), "--alertmanager-url", "http://127.0.0.1:9093",
                               "--alertmanager-url", "http://127.0.0.2:9093")
    assert code == 0, output
    config = subprocess.run([PROMTOOL or "", "check", "config", str(out / "prometheus/prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    # Checks the rule file too, and lints it: two hosts' rules of one name must not be duplicates.
    expected = sum(len(build_rules(Plan.model_validate(p), metric_registry())) for p in (
        {}, {"monitoring": {"alerts": {"cpu": {"warning": 70, "critical": 85}}}})) + 3
    assert config.returncode == 0, config.stdout + config.stderr
    assert f"SUCCESS: {expected} rules found" in config.stdout + config.stderr
    am = subprocess.run([AMTOOL or "", "check-config", str(out / "alertmanager/alertmanager.yml")],
                        capture_output=True, text=True, timeout=60)
    assert am.returncode == 0 and "3 receivers" in am.stdout, am.stdout + am.stderr


def test_the_target_list_has_one_entry_per_host_with_its_labels(tmp_path: Path):
    code, output, out = _fleet(tmp_path, *_two_hosts(tmp_path))
    assert code == 0, output
    entries = json.loads((out / "prometheus/targets/opsplan.json").read_text(encoding="utf-8"))
    assert [(e["targets"], e["labels"]["host"]) for e in entries] == [
        (["127.0.0.1:8081"], "ai-01"), (["127.0.0.1:8082"], "ai-02")]
    assert entries[1]["labels"]["allocation_groups"] == ",research,"
    assert entries[0]["labels"]["__scrape_interval__"] == "15s"
    assert entries[1]["labels"]["__scrape_interval__"] == "30s"  # each host at its plan's interval
    prometheus = _load(out / "prometheus/prometheus.yml")
    assert prometheus["scrape_configs"][0]["file_sd_configs"][0]["files"] == ["targets/opsplan.json"]


def test_each_hosts_rules_keep_their_names_and_thresholds_and_carry_the_host(tmp_path: Path):
    code, output, out = _fleet(tmp_path, *_two_hosts(tmp_path))
    assert code == 0, output
    groups = {g["name"]: g for g in _load(out / "prometheus/rules.yml")["groups"]}
    assert list(groups) == ["opsplan-ai-01", "opsplan-ai-02", "opsplan-fleet"]
    assert groups["opsplan-ai-02"]["interval"] == "30s"

    def cpu_critical(group: str) -> dict:
        return next(r for r in groups[group]["rules"] if r["annotations"]["opsplan_rule"] == "cpu.critical")
    one, two = cpu_critical("opsplan-ai-01"), cpu_critical("opsplan-ai-02")
    assert one["alert"] == two["alert"] == "CpuUsageHigh"
    assert one["labels"] == {"severity": "critical", "host": "ai-01"}
    assert one["expr"].startswith('opsplan_cpu_usage_ratio{host="ai-01"} > 0.9 ')
    assert two["expr"].startswith('opsplan_cpu_usage_ratio{host="ai-02"} > 0.85 ')  # its own plan's threshold
    # The hysteresis holds on this host's own firing alert, not on another host's.
    assert 'and on(host) ALERTS{alertname="CpuUsageHigh",alertstate="firing",severity="critical",host="ai-01"}' \
        in one["expr"]
    error_rate = next(r for r in groups["opsplan-ai-01"]["rules"]
                      if r["annotations"]["opsplan_rule"] == "api_error_rate.critical")
    assert error_rate["expr"].endswith('and on(host, service) (opsplan_api_requests_per_second{host="ai-01"} > 0)')
    down = groups["opsplan-fleet"]["rules"][0]
    assert down["alert"] == "OpsplanDown" and down["expr"] == 'up{job="opsplan"} == 0'
    assert down["annotations"]["description"].startswith("host {{ $labels.host }}: Prometheus cannot scrape")


def test_alertmanager_routes_each_hosts_alerts_to_its_own_opsplan(tmp_path: Path):
    code, output, out = _fleet(tmp_path, *_two_hosts(tmp_path))
    assert code == 0, output
    config = _load(out / "alertmanager/alertmanager.yml")
    receivers = {r["name"]: [w["url"] for w in r["webhook_configs"]] for r in config["receivers"]}
    assert receivers == {
        "opsplan-fleet": ["http://127.0.0.1:8081/api/v1/alertmanager", "http://127.0.0.1:8082/api/v1/alertmanager"],
        "opsplan-ai-01": ["http://127.0.0.1:8081/api/v1/alertmanager"],
        "opsplan-ai-02": ["http://127.0.0.1:8082/api/v1/alertmanager"]}
    routes = config["route"]["routes"]
    assert routes[0] == {"matchers": ['alertname=~"OpsplanDown"'], "receiver": "opsplan-fleet"}
    assert [(r["matchers"], r["receiver"]) for r in routes[1:]] == [
        (['host="ai-01"'], "opsplan-ai-01"), (['host="ai-02"'], "opsplan-ai-02")]
    assert "host" in config["inhibit_rules"][0]["equal"]  # a Critical silences only its own host's Warning


def test_a_central_opsplan_receives_every_hosts_alerts(tmp_path: Path):
    code, output, out = _fleet(tmp_path, *_two_hosts(tmp_path), "--webhook-url", "http://central:8080/api/v1/alertmanager")
    assert code == 0, output
    config = _load(out / "alertmanager/alertmanager.yml")
    urls = {w["url"] for r in config["receivers"] for w in r["webhook_configs"]}
    assert urls == {"http://central:8080/api/v1/alertmanager"}


def test_cluster_members_get_each_other_as_peers(tmp_path: Path):
    hosts = tmp_path / "hosts.yaml"
    plans = _two_hosts(tmp_path)
    hosts.write_text(f"hosts:\n  - plan: {plans[0]}\n  - plan: ai-02/opsplan.yaml\n    name: gpu-box-2\n"
                     "    url: http://10.0.0.12:8080\nalertmanagers:\n  - url: http://10.0.0.5:9093\n"
                     "  - url: http://am-2.internal:9093\n    cluster: am-2.internal:19094\n", encoding="utf-8")
    code, output, out = _fleet(tmp_path, "--hosts", str(hosts))
    assert code == 0, output
    entries = json.loads((out / "prometheus/targets/opsplan.json").read_text(encoding="utf-8"))
    assert [(e["targets"], e["labels"]["host"]) for e in entries] == [
        (["127.0.0.1:8081"], "ai-01"), (["10.0.0.12:8080"], "gpu-box-2")]
    prometheus = _load(out / "prometheus/prometheus.yml")
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "10.0.0.5:9093", "am-2.internal:9093"]  # Prometheus sends to every member

    def args(name: str) -> list[str]:
        text = (out / "alertmanager/cluster" / name).read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if x.startswith("ARGS="))
        return shlex.split(line.removeprefix("ARGS="))[0].split()
    first, second = args("10.0.0.5_9093"), args("am-2.internal_9093")
    assert "--cluster.listen-address=10.0.0.5:9094" in first and "--cluster.peer=am-2.internal:19094" in first
    assert "--cluster.listen-address=0.0.0.0:19094" in second  # a name: listen everywhere, advertise the name
    assert "--cluster.advertise-address=am-2.internal:19094" in second and "--cluster.peer=10.0.0.5:9094" in second
    assert f"--config.file={out.resolve()}/alertmanager/alertmanager.yml" in first


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian prometheus) not installed")
def test_dashboards_read_the_host_variable(tmp_path: Path):
    code, output, out = _fleet(tmp_path, *_two_hosts(tmp_path))
    assert code == 0, output
    boards = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (out / "grafana/dashboards").glob("*.json")}
    assert {"opsplan-fleet", "opsplan-overview", "opsplan-gpus", "opsplan-mariadb", "opsplan-backups"} <= set(boards)
    exprs = []
    for uid, board in boards.items():
        if uid != "opsplan-fleet":
            assert [v["name"] for v in board["templating"]["list"]] == ["host"]
        for panel in board["panels"]:
            for target in panel["targets"]:
                exprs.append(target["expr"])
                for selector in re.findall(r"\bopsplan_[a-z0-9_]+(?:\{[^}]*\})?", target["expr"]):
                    assert 'host=~"$host"' in selector, (uid, target["expr"])
    # The research group of the second host's plan has its panels.
    assert any("research" in p["title"].lower() for p in boards["opsplan-gpus"]["panels"])
    assert {"opsplan-service-llm-api", "opsplan-service-chat-api"} <= set(boards)  # each plan's services
    rules = {"groups": [{"name": "q", "rules": [{"record": f"q:{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "queries.yml"
    with path.open("w") as fh:
        YAML(typ="safe").dump(rules, fh)
    result = subprocess.run([PROMTOOL or "", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_with_matcher_scopes_selectors_but_not_quoted_values():
    assert with_matcher('rate(opsplan_x_total[5m]) + opsplan_y{service="opsplan_z"}', 'host=~"$host"') == \
        'rate(opsplan_x_total{host=~"$host"}[5m]) + opsplan_y{host=~"$host",service="opsplan_z"}'
    assert with_matcher("opsplan_a{}", "h=\"1\"") == 'opsplan_a{h="1"}'


def _one_line_error(tmp_path: Path, *args: str) -> str:
    code, output, out = _fleet(tmp_path, *args)
    assert code != 0
    assert not out.exists(), "a refused export writes nothing"
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_two_hosts_with_one_name_are_refused(tmp_path: Path):
    first = _host_plan(tmp_path, "a", 8081, server={"name": "same"})
    second = _host_plan(tmp_path, "b", 8082, server={"name": "same"})
    line = _one_line_error(tmp_path, str(first), str(second))
    assert "two hosts are named same" in line and str(second) in line


def test_two_hosts_on_one_address_are_refused(tmp_path: Path):
    first = _host_plan(tmp_path, "ai-01", 8080)
    second = _host_plan(tmp_path, "ai-02", 8080)
    line = _one_line_error(tmp_path, str(first), str(second))
    assert "two hosts have the address http://127.0.0.1:8080" in line


def test_a_plan_that_fails_validation_is_refused_with_its_first_problem(tmp_path: Path):
    good = _host_plan(tmp_path, "ai-01", 8081)
    bad = _host_plan(tmp_path, "ai-02", 8082, monitoring={"interval": "soon"})
    line = _one_line_error(tmp_path, str(good), str(bad))
    assert str(bad) in line and "monitoring.interval" in line


def test_a_wildcard_bind_needs_an_address(tmp_path: Path):
    plan = _host_plan(tmp_path, "ai-01", 8081)
    text = plan.read_text(encoding="utf-8").replace("port: 8081", "port: 8081\n  bind: 0.0.0.0")
    plan.write_text(text, encoding="utf-8")
    line = _one_line_error(tmp_path, str(plan))
    assert "host ai-01: web.bind 0.0.0.0" in line


@pytest.mark.parametrize("text, where", [
    ("hosts: []\n", "(hosts)"),
    ("hosts:\n  - name: x\n", "(hosts[0].plan)"),
    ("hosts:\n  - plan: a.yaml\n    urll: http://x\n", "(hosts[0].urll)"),
    ("servers: [a]\n", "(hosts)"),
    ("hosts: [\n", "(YAML)"),
])
def test_a_bad_hosts_file_is_refused(tmp_path: Path, text: str, where: str):
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(text, encoding="utf-8")
    line = _one_line_error(tmp_path, "--hosts", str(hosts))
    assert f"{hosts}: not a hosts file {where}" in line


def test_no_hosts_is_refused(tmp_path: Path):
    assert "no hosts" in _one_line_error(tmp_path)
