"""The embedded alert path end to end: a real `opsplan serve`, a service that fails, a webhook that hears it."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

import yaml_writer
from http_stubs import Service, Webhook
from serve_process import add_user, logged_in, start_serve, wait_for_cycles, wait_until


def alerts(url: str) -> list[dict]:
    groups = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
    return [alert for group in groups for alert in group["alerts"]]


@pytest.fixture
def stack(tmp_path: Path):
    service, hook = Service(), Webhook()
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en",
        "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                                    "gpu_missing": {"enabled": False},
                                                    "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "notifications": {"channels": [{"name": "ops-hook", "kind": "webhook", "url_env": "OPS_HOOK_URL",
                                        "severities": ["critical", "warning"]}]},
    })
    yield plan, service, hook
    service.server.shutdown()
    hook.server.shutdown()


def test_a_failing_service_fires_once_notifies_once_and_survives_a_restart(stack):
    plan, service, hook = stack
    env = {"OPS_HOOK_URL": hook.url}
    add_user(plan, "view01", "viewer")
    proc, url = start_serve(plan, env=env)
    try:
        wait_for_cycles(url, 2)
        assert [a for a in alerts(url) if a["alert"] == "ApiDown"] == []
        service.healthy = False
        firing = wait_until(lambda: [a for a in alerts(url) if a["alert"] == "ApiDown" and a["state"] == "firing"])
        assert firing[0]["severity"] == "critical" and firing[0]["labels"]["service"] == "llm-api"
        post = wait_until(lambda: [p for p in hook.posts if "ApiDown" in p.get("title", "")])
        assert "llm-api" in post[0]["message"] and post[0]["type"] == "failure"
        assert "ApiDown" in logged_in(url, "view01").get("").text  # the console's overview shows it
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)

    # Restarted while still failing: the alert is still firing, and nobody is told twice.
    sent_before = len(hook.posts)
    proc, url = start_serve(plan, env=env)
    try:
        wait_for_cycles(url, 4)
        assert [a["state"] for a in alerts(url) if a["alert"] == "ApiDown"] == ["firing"]
        assert len(hook.posts) == sent_before
        service.healthy = True
        wait_until(lambda: [p for p in hook.posts[sent_before:] if "ApiDown" in p.get("title", "")])
        assert hook.posts[-1]["type"] == "success"  # the resolved notice
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
