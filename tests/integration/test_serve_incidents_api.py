"""The incident API on a real `opsplan serve`: an outage opens a critical incident, an operator's
write token acknowledges and resolves it over HTTP, and `opsplan incident show` (another process on
the same state database) sees the operator's steps; an anonymous write changes nothing."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

import yaml_writer
from http_stubs import Service
from serve_process import OPSPLAN, add_user, start_serve, wait_for_cycles, wait_until


def opsplan(plan: Path, *args: str) -> str:
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def stack(tmp_path: Path):
    service = Service()
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en",
        "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                                    "gpu_missing": {"enabled": False},
                                                    "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
    })
    yield plan, service
    service.server.shutdown()


def test_an_operator_works_the_outage_over_http(stack):
    plan, service = stack
    add_user(plan, "oper01", "operator")
    token = json.loads(opsplan(plan, "user", "token", "create", "oper01", "--scope", "write", "--json"))["token"]
    auth = {"Authorization": f"Bearer {token}"}
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 2)
        api = httpx.Client(base_url=url + "api/v1/", timeout=10)
        service.healthy = False
        [incident] = wait_until(lambda: api.get("incidents").json()["incidents"])
        iid = incident["id"]
        assert (incident["severity"], incident["status"]) == ("critical", "triggered")
        anonymous = api.post(f"incidents/{iid}/ack", json={"by": "mallory"})
        assert anonymous.status_code == 401
        assert api.get(f"incidents/{iid}").json()["status"] == "triggered"
        acked = api.post(f"incidents/{iid}/ack", headers=auth)
        assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "oper01"
        again = api.post(f"incidents/{iid}/ack", headers=auth, params={"lang": "ko"})
        assert again.status_code == 409 and again.json()["detail"] == f"장애 {iid}은 이미 확인되었습니다"
        resolved = api.post(f"incidents/{iid}/resolve", json={"note": "restarted"}, headers=auth)
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    shown = json.loads(opsplan(plan, "incident", "show", str(iid), "--json"))
    steps = [(e["kind"], e["actor"]) for e in shown["timeline"] if e["kind"] in ("acknowledged", "resolved")]
    assert steps == [("acknowledged", "oper01"), ("resolved", "oper01")]
    entries = json.loads(opsplan(plan, "audit", "list", "--json"))["entries"]
    mine = [(e["actor"], e["action"], e["arguments"].get("via")) for e in entries
            if e["action"].startswith("incident.")]
    assert sorted(mine) == [("oper01", "incident.ack", "api"), ("oper01", "incident.resolve", "api")]
