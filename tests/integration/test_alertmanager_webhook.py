"""opsplan and a real Alertmanager, both ways: opsplan pushes its alerts to Alertmanager's v2 API,
Alertmanager (with the exported alertmanager.yml) routes, inhibits and posts them to opsplan's
webhook, which validates them and hands them to the alert engine."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, HTTPException
from typer.testing import CliRunner

import yaml_writer
from opsplan.alerts.events import AlertNotice
from opsplan.alerts.push import AlertmanagerPush
from opsplan.cli.main import app as cli
from opsplan.plan.models import Text
from opsplan.web.alertmanager_api import MAX_BODY_BYTES, alertmanager_router
from prometheus_stack import ALERTMANAGER, alertmanager, serve_app, wait_until

pytestmark = pytest.mark.skipif(ALERTMANAGER is None, reason="Debian prometheus-alertmanager not installed")

TOKEN = "test-token-4f1c"


def _bearer(authorization: str | None = Header(default=None)) -> None:
    # Stands in for web/auth.py's dependency: the router only needs some dependency to enforce.
    if authorization != f"Bearer {TOKEN}":
        raise HTTPException(401, "missing or wrong bearer token")


class Ingested:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, payload: dict[str, Any]) -> None:
        with self.lock:
            self.payloads.append(payload)

    def alerts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [a for p in self.payloads for a in p["alerts"]]

    def wait_for(self, predicate: Any, what: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [a for a in self.alerts() if predicate(a)]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"no {what} within {timeout}s; got {self.alerts()}")


def _notice(kind: str, severity: str, value: float, *, resolved_at: float | None = None) -> AlertNotice:
    return AlertNotice(
        kind=kind, fingerprint=f"disk-{severity}", alert="DiskUsageHigh", severity=severity,  # type: ignore[arg-type]
        labels={"alert": "DiskUsageHigh", "severity": severity, "mountpoint": "/data"}, subject="mountpoint /data",
        summary=Text(ko="디스크 사용률이 높습니다", en="Disk usage is high"),
        description=Text(ko=f"mountpoint /data 사용률 {value:.0%}", en=f"mountpoint /data usage {value:.0%}"),
        value=value, threshold=0.9 if severity == "critical" else 0.8, for_s=300, started_at=time.time() - 400,
        resolved_at=resolved_at)


@pytest.fixture
def opsplan_webhook():
    ingested = Ingested()
    app = FastAPI()
    app.include_router(alertmanager_router(ingested, auth=_bearer))
    with serve_app(app) as url:
        yield url, ingested


def test_pushed_alerts_come_back_through_alertmanager_routed_and_inhibited(tmp_path: Path, opsplan_webhook):
    url, ingested = opsplan_webhook
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    plan = yaml_writer.write_plan(tmp_path, {"language": "en"})
    out = tmp_path / "export"
    result = CliRunner().invoke(cli, ["--plan", str(plan), "export", "--out", str(out), "--opsplan-url", url,
                                      "--token-file", str(token_file), "--group-wait", "1s",
                                      "--group-interval", "1s"])
    assert result.exit_code == 0, result.output
    with alertmanager(out / "alertmanager" / "alertmanager.yml", tmp_path) as am:
        push = AlertmanagerPush(am, language="en", instance="ai-server-01", generator_url="http://console/")
        # Critical and Warning of one disk: the Warning is inhibited, opsplan hears the Critical.
        # (The Critical goes first: Alertmanager inhibits only by source alerts it already holds.)
        push.push([_notice("firing", "critical", 0.95)])
        assert push.send_once(), push.last_error
        critical = ingested.wait_for(lambda a: a["labels"].get("severity") == "critical", "critical alert")
        assert critical["status"] == "firing"
        assert critical["labels"]["alertname"] == "DiskUsageHigh"
        assert critical["labels"]["mountpoint"] == "/data"
        assert critical["annotations"]["summary"] == "Disk usage is high"
        assert critical["generatorURL"] == "http://console/"
        push.push([_notice("firing", "warning", 0.95)])
        assert push.send_once(), push.last_error
        # Alertmanager holds both; its API marks the Warning as inhibited by the Critical.
        held = wait_until(lambda: (s := {a["labels"]["severity"]: a["status"] for a in
                                         httpx.get(am + "api/v2/alerts", timeout=5).json()}).get("warning") and s,
                          20, "the warning in Alertmanager")
        assert held["critical"]["state"] == "active"
        assert held["warning"]["state"] == "suppressed" and held["warning"]["inhibitedBy"]
        # A later alert of another disk gets through; by then the Warning would have too.
        other = _notice("firing", "critical", 0.96)
        push.push([replace(other, fingerprint="other", labels={**other.labels, "mountpoint": "/srv"})])
        assert push.send_once(), push.last_error
        ingested.wait_for(lambda a: a["labels"].get("mountpoint") == "/srv", "the other disk's alert")
        assert not [a for a in ingested.alerts() if a["labels"]["severity"] == "warning"]
        # Resolving reaches opsplan as resolved.
        push.push([_notice("resolved", "critical", 0.5, resolved_at=time.time())])
        assert push.send_once(), push.last_error
        ingested.wait_for(lambda a: a["labels"].get("severity") == "critical" and a["status"] == "resolved",
                          "resolved critical")
        push.stop()


def test_push_keeps_alerts_queued_while_alertmanager_is_down(tmp_path: Path):
    port = yaml_writer.free_port()
    push = AlertmanagerPush(f"http://127.0.0.1:{port}", language="ko", backoff_s=(0.1,), resend_s=0.2)
    push.push([_notice("firing", "critical", 0.97)])
    assert not push.send_once()
    assert "ConnectError" in (push.last_error or "")
    config = tmp_path / "am.yml"
    config.write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    with alertmanager(config, tmp_path, port=port) as am:
        push.start()  # the sender thread retries on its own
        deadline = time.time() + 20
        held: list[dict[str, Any]] = []
        while time.time() < deadline and not held:
            held = httpx.get(am + "api/v2/alerts", timeout=5).json()
            time.sleep(0.1)
        push.stop()
    assert [a["labels"]["alertname"] for a in held] == ["DiskUsageHigh"]
    assert held[0]["annotations"]["summary"] == "디스크 사용률이 높습니다"
    assert "alert" not in held[0]["labels"]


def _valid_payload() -> dict[str, Any]:
    return {"version": "4", "status": "firing", "receiver": "opsplan", "groupKey": "{}:{}",
            "alerts": [{"status": "firing", "labels": {"alertname": "X", "severity": "warning"},
                        "annotations": {}, "startsAt": "2024-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]}


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    (b"{not json", {}, 400, "body is not JSON"),
    (b'{"version": "4", "status": "firing", "alerts": [{"status": "burning"}]}', {}, 422, "alerts.0.status: "),
    (b'{"version": "3", "status": "firing", "alerts": []}', {}, 422, "version: expected Alertmanager webhook"),
    (b"x" * (MAX_BODY_BYTES + 1), {}, 413, "body larger than 4 MiB"),
    (b"{}", {"Authorization": "Bearer wrong"}, 401, "wrong bearer token"),
])
def test_bad_webhook_bodies_are_refused_with_one_line(opsplan_webhook, body: bytes, headers: dict[str, str],
                                                      status: int, message: str):
    url, ingested = opsplan_webhook
    auth = {"Authorization": f"Bearer {TOKEN}", **headers}
    response = httpx.post(url + "api/v1/alertmanager", content=body, headers=auth, timeout=10)
    assert response.status_code == status
    text = response.json().get("error") or response.json().get("detail")
    assert message in text and "\n" not in text
    assert ingested.payloads == []
    ok = httpx.post(url + "api/v1/alertmanager", json=_valid_payload(), headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=10)
    assert ok.status_code == 200 and ok.json() == {"status": "ok", "alerts": 1}
    assert ingested.payloads[0]["alerts"][0]["labels"]["alertname"] == "X"
