"""The exported stack end to end: `opsplan serve` watches a service the test controls, a real
Prometheus scrapes it with the exported rules, a real Alertmanager routes with the exported config,
and when the service fails the ApiDown alert reaches a webhook receiver."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import yaml_writer
from opsplan.cli.main import app as cli
from prometheus_stack import (
    ALERTMANAGER,
    PROMETHEUS,
    alertmanager,
    controllable_service,
    prometheus,
    prometheus_value,
    wait_until,
    webhook_receiver,
)
from serve_process import start_serve, wait_for_cycles

pytestmark = [pytest.mark.slow, pytest.mark.skipif(PROMETHEUS is None or ALERTMANAGER is None,
                                                   reason="Debian prometheus / prometheus-alertmanager not installed")]


def test_a_failing_service_reaches_the_webhook_through_prometheus_and_alertmanager(tmp_path: Path):
    with controllable_service() as service, webhook_receiver() as receiver:
        plan = yaml_writer.write_plan(tmp_path, {
            "language": "en",
            "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"},
                                                        "mariadb_down": {"enabled": False}}},
            "services": [{"name": "e2e-api", "group": "app", "url": service.url, "timeout": "1s"}],
            "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        })
        proc, url = start_serve(plan, env={"OPSPLAN_FAKE_NVML": str(yaml_writer.four_gpus(tmp_path))})
        try:
            wait_for_cycles(url, 1)
            am_port = yaml_writer.free_port()
            out = tmp_path / "export"
            result = CliRunner().invoke(cli, [
                "--plan", str(plan), "export", "--out", str(out), "--opsplan-url", url,
                "--alertmanager-url", f"http://127.0.0.1:{am_port}", "--webhook-url", receiver.url,
                "--group-wait", "1s", "--group-interval", "1s"])
            assert result.exit_code == 0, result.output
            with alertmanager(out / "alertmanager/alertmanager.yml", tmp_path, port=am_port) as am, \
                    prometheus(out / "prometheus/prometheus.yml", tmp_path) as prom:
                # Healthy first: Prometheus scrapes opsplan and sees the service up, no alert.
                wait_until(lambda: [r for r in prometheus_value(prom, 'opsplan_api_up{service="e2e-api"}')
                                    if r["value"][1] == "1"], 30, "Prometheus scraping e2e-api up")
                assert not [a for a in receiver.alerts() if a["labels"]["alertname"] == "ApiDown"]

                service.status = 500
                alert = receiver.wait_for(lambda a: a["labels"]["alertname"] == "ApiDown" and a["status"] == "firing",
                                          60, "ApiDown at the webhook receiver")
                assert alert["labels"]["service"] == "e2e-api"
                assert alert["labels"]["severity"] == "critical"
                assert alert["annotations"]["description"] == "service e2e-api: health probe failing"
                held = httpx.get(am + "api/v2/alerts", params={"filter": 'alertname="ApiDown"'}, timeout=5).json()
                assert [a["labels"]["service"] for a in held] == ["e2e-api"]

                # opsplan's own embedded engine saw it too.
                wait_until(lambda: "ApiDown" in httpx.get(url + "api/v1/alerts", timeout=5).text, 30,
                           "ApiDown in opsplan's GET /api/v1/alerts")

                # Healthy again: Alertmanager sends the resolve.
                service.status = 200
                receiver.wait_for(lambda a: a["labels"]["alertname"] == "ApiDown" and a["status"] == "resolved",
                                  60, "ApiDown resolved at the webhook receiver")
        finally:
            proc.terminate()
            proc.wait(15)


def test_alerts_from_an_external_prometheus_join_opsplans_list_through_the_webhook(tmp_path: Path):
    token = "e2e-Tok3n-for-the-webhook"
    token_file = tmp_path / "api-token"
    token_file.write_text(token, encoding="utf-8")
    token_file.chmod(0o600)
    with controllable_service() as service:
        plan = yaml_writer.write_plan(tmp_path, {
            "language": "en",
            "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"},
                                                        "mariadb_down": {"enabled": False}}},
            "services": [{"name": "e2e-api", "group": "app", "url": service.url, "timeout": "1s"}],
            "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
            "web": {"port": 0, "api_token_file": str(token_file)},
        })
        proc, url = start_serve(plan)
        try:
            wait_for_cycles(url, 1)
            am_port = yaml_writer.free_port()
            out = tmp_path / "export"
            result = CliRunner().invoke(cli, [
                "--plan", str(plan), "export", "--out", str(out), "--opsplan-url", url,
                "--alertmanager-url", f"http://127.0.0.1:{am_port}", "--group-wait", "1s",
                "--group-interval", "1s"])
            assert result.exit_code == 0, result.output
            # The exported Alertmanager posts to opsplan's own webhook, authenticated by the token file.
            assert f"{url}api/v1/alertmanager" in (out / "alertmanager/alertmanager.yml").read_text()
            assert token not in (out / "alertmanager/alertmanager.yml").read_text()
            with alertmanager(out / "alertmanager/alertmanager.yml", tmp_path, port=am_port), \
                    prometheus(out / "prometheus/prometheus.yml", tmp_path):
                service.status = 500

                def external_alert() -> list[dict]:
                    groups = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
                    return [a for g in groups for a in g["alerts"]
                            if a["alert"] == "ApiDown" and a["source"] == "prometheus"]

                found = wait_until(external_alert, 60, "ApiDown from Prometheus in opsplan's list")
                assert found[0]["labels"]["service"] == "e2e-api"
        finally:
            proc.terminate()
            proc.wait(15)
