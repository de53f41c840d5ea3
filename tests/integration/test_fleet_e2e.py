"""Two hosts end to end through `opsplan fleet export`: two real `opsplan serve` processes on their own
free ports, each watching a service the test controls; a real Prometheus that finds them through the
exported file_sd target list and loads the exported rules; a real two-member Alertmanager cluster
started with the exported `--cluster.*` flags. When each host's service fails, its ApiDown reaches
the webhook with that host's `host` label; and with per-host routes, each host's alert joins that
host's own opsplan and not the other's."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import yaml_writer
from opsplan.cli.main import app as cli
from prometheus_stack import (
    ALERTMANAGER,
    PROMETHEUS,
    PROMTOOL,
    ControllableService,
    alertmanager,
    alertmanager_member,
    controllable_service,
    prometheus,
    prometheus_value,
    run_tool,
    wait_until,
    webhook_receiver,
)
from serve_process import start_serve, wait_for_cycles

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None or PROMTOOL is None,
    reason="Debian prometheus / prometheus-alertmanager not installed")]

HOSTS = ("gpu-a", "gpu-b")


@contextmanager
def two_hosts(tmp_path: Path, plan_extra: dict[str, Any] | None = None
              ) -> Iterator[list[tuple[str, ControllableService, str]]]:
    """(host name, its service, its serve URL) for two real `opsplan serve` processes."""
    with ExitStack() as stack:
        hosts = []
        for i, name in enumerate(HOSTS):
            service = stack.enter_context(controllable_service())
            directory = tmp_path / name
            directory.mkdir()
            plan = yaml_writer.write_plan(directory, {
                "language": "en", "server": {"name": name},
                "monitoring": {"interval": f"{i + 1}s", "alerts": {"api_down": {"for": "2s"},
                                                                   "mariadb_down": {"enabled": False}}},
                "services": [{"name": f"{name}-api", "group": "app", "url": service.url, "timeout": "1s"}],
                "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
                **(plan_extra or {}),
            })
            proc, url = start_serve(plan, env={"OPSPLAN_FAKE_NVML": str(yaml_writer.four_gpus(directory))})
            stack.callback(proc.wait, 15)
            stack.callback(proc.terminate)
            wait_for_cycles(url, 1)
            hosts.append((name, service, url))
        yield hosts


def _hosts_file(tmp_path: Path, hosts: list[tuple[str, ControllableService, str]], members: str = "") -> Path:
    path = tmp_path / "hosts.yaml"
    entries = "".join(f"  - plan: {name}/opsplan.yaml\n    url: {url}\n" for name, _, url in hosts)
    path.write_text(f"hosts:\n{entries}{members}", encoding="utf-8")
    return path


def _export(hosts_file: Path, out: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["fleet", "export", "--hosts", str(hosts_file), "--out", str(out),
                                      "--group-wait", "1s", "--group-interval", "1s", *args])
    assert result.exit_code == 0, result.output
    checked = run_tool("promtool", "check", "config", str(out / "prometheus/prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _member_args(out: Path, name: str) -> list[str]:
    text = (out / "alertmanager/cluster" / name).read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("ARGS="))
    return shlex.split(shlex.split(line.removeprefix("ARGS="))[0])


def _scraped(prom: str) -> set[str]:
    return {r["metric"]["host"] for r in prometheus_value(prom, 'opsplan:host_up == 1')}


def test_each_hosts_alert_reaches_the_webhook_through_an_alertmanager_cluster(tmp_path: Path):
    api = [yaml_writer.free_port() for _ in range(2)]
    gossip = [yaml_writer.free_port() for _ in range(2)]
    members = "alertmanagers:\n" + "".join(
        f"  - url: http://127.0.0.1:{a}\n    cluster: 127.0.0.1:{g}\n" for a, g in zip(api, gossip, strict=True))
    with webhook_receiver() as receiver, two_hosts(tmp_path) as hosts:
        out = tmp_path / "export"
        _export(_hosts_file(tmp_path, hosts, members), out, "--webhook-url", receiver.url)
        with alertmanager_member(_member_args(out, f"127.0.0.1_{api[0]}"), tmp_path / "am1") as am1, \
                alertmanager_member(_member_args(out, f"127.0.0.1_{api[1]}"), tmp_path / "am2"), \
                prometheus(out / "prometheus/prometheus.yml", tmp_path) as prom:
            # Both hosts found through the target list, each series with its host's label.
            wait_until(lambda: _scraped(prom) == set(HOSTS), 60, "both hosts scraped")
            up = prometheus_value(prom, "opsplan_api_up")
            assert sorted((r["metric"]["host"], r["metric"]["service"]) for r in up) == [
                ("gpu-a", "gpu-a-api"), ("gpu-b", "gpu-b-api")]
            targets = httpx.get(prom + "api/v1/targets", timeout=5).json()["data"]["activeTargets"]
            assert sorted((t["labels"]["host"], t["scrapeInterval"]) for t in targets) == [
                ("gpu-a", "1s"), ("gpu-b", "2s")]  # each host at its own plan's interval
            # The members found each other through the exported peer flags.
            status = wait_until(lambda: [s for s in [httpx.get(am1 + "api/v2/status", timeout=5).json()]
                                         if len(s["cluster"].get("peers") or []) == 2], 60, "a cluster of two")
            assert status[0]["cluster"]["status"] in ("ready", "settling")
            assert not [a for a in receiver.alerts() if a["labels"]["alertname"] == "ApiDown"]

            for _, service, _ in hosts:
                service.status = 500
            for name in HOSTS:
                alert = receiver.wait_for(lambda a, n=name: a["labels"]["alertname"] == "ApiDown"
                                          and a["labels"].get("host") == n and a["status"] == "firing",
                                          90, f"ApiDown of {name} at the webhook receiver")
                assert alert["labels"]["service"] == f"{name}-api"
                assert alert["labels"]["severity"] == "critical"
                assert alert["annotations"]["description"] == \
                    f"host {name} service {name}-api: health probe failing"

            hosts[0][1].status = 200
            receiver.wait_for(lambda a: a["labels"]["alertname"] == "ApiDown" and a["labels"].get("host") == "gpu-a"
                              and a["status"] == "resolved", 90, "ApiDown of gpu-a resolved")


def test_per_host_routes_bring_each_hosts_alert_to_its_own_opsplan(tmp_path: Path):
    token_file = tmp_path / "api-token"
    token_file.write_text("fleet-e2e-Tok3n", encoding="utf-8")
    token_file.chmod(0o600)
    with two_hosts(tmp_path, {"web": {"port": 0, "api_token_file": str(token_file)}}) as hosts:
        am_port = yaml_writer.free_port()
        out = tmp_path / "export"
        _export(_hosts_file(tmp_path, hosts), out, "--alertmanager-url", f"http://127.0.0.1:{am_port}")
        assert "fleet-e2e-Tok3n" not in (out / "alertmanager/alertmanager.yml").read_text(encoding="utf-8")
        with alertmanager(out / "alertmanager/alertmanager.yml", tmp_path, port=am_port) as am, \
                prometheus(out / "prometheus/prometheus.yml", tmp_path) as prom:
            wait_until(lambda: _scraped(prom) == set(HOSTS), 60, "both hosts scraped")
            hosts[1][1].status = 500  # only gpu-b's service fails

            def from_prometheus(url: str) -> list[dict]:
                groups = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
                return [a for g in groups for a in g["alerts"]
                        if a["alert"] == "ApiDown" and a["source"] == "prometheus"]

            found = wait_until(lambda: from_prometheus(hosts[1][2]), 90, "ApiDown from Prometheus in gpu-b's opsplan")
            assert found[0]["labels"]["host"] == "gpu-b" and found[0]["labels"]["service"] == "gpu-b-api"
            # Routed to its own host's receiver only: Alertmanager says where each alert goes.
            held = httpx.get(am + "api/v2/alerts", params={"filter": 'alertname="ApiDown"'}, timeout=5).json()
            assert [(a["labels"]["host"], [r["name"] for r in a["receivers"]]) for a in held] == [
                ("gpu-b", ["opsplan-gpu-b"])]
            assert from_prometheus(hosts[0][2]) == []
