"""Incidents end to end: a real `opsplan serve`, a service that fails, and `opsplan incident` (a
separate process on the same state database) seeing the critical incident the outage opened."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

import yaml_writer
from http_stubs import Service
from serve_process import OPSPLAN, start_serve, wait_for_cycles, wait_until


def incidents(plan: Path, *args: str) -> dict:
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), "incident", "list", "--json", *args],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def show(plan: Path, incident_id: int) -> dict:
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), "incident", "show", str(incident_id), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


@pytest.fixture
def stack(tmp_path: Path):
    service = Service()
    log = tmp_path / "access.log"
    log.write_text("".join(f'10.0.0.7 - - [05/Dec/2026:03:00:0{i} +0900] "GET /v1/models?token=t0ps3cret{i} HTTP/1.1" '
                           f'200 12 "-" "probe/{i}"\n' for i in range(5)), encoding="utf-8")
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en",
        "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                                    "gpu_missing": {"enabled": False},
                                                    "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s",
                      "access_log": {"path": str(log)}}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
    })
    yield plan, service
    service.server.shutdown()


def test_an_outage_opens_one_critical_incident_that_outlives_the_alert_and_a_restart(stack):
    plan, service = stack
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 2)
        assert incidents(plan)["count"] == 0
        service.healthy = False
        found = wait_until(lambda: incidents(plan)["incidents"])
        [incident] = found
        assert (incident["severity"], incident["status"], incident["source"]) == ("critical", "triggered", "alert")
        assert "llm-api" in incident["title"]["en"]
        metrics = wait_until(lambda: (text := httpx.get(url + "metrics", timeout=5).text)
                             and 'opsplan_incidents_open{severity="critical"} 1' in text and text)
        assert 'opsplan_incidents_open{severity="major"} 0' in metrics
        # the overdue count is read by a collector, before the alert rules (IncidentResponseOverdue)
        assert 'opsplan_collector_up{collector="incidents"} 1' in metrics
        assert 'opsplan_incidents_response_overdue{incident_severity="critical"} 0' in metrics
        service.healthy = True
        wait_until(lambda: all(a["resolved_at"] for a in show(plan, incident["id"])["alerts"]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)

    # The alert resolved; the incident is still open for a person, and a restart changes nothing.
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 3)
        [after] = incidents(plan)["incidents"]
        assert after["id"] == incident["id"] and after["status"] == "triggered"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    timeline = show(plan, incident["id"])["timeline"]
    assert [e["kind"] for e in timeline] == ["opened", "alert_fired", "evidence", "alert_resolved"]
    # What serve held when it opened: the API's series from its metrics store (up, then down), the
    # failed MariaDB readings, the service's access log with its tokens masked.
    evidence = timeline[2]["data"]
    [series] = evidence["chart"]["series"]
    assert series["labels"]["service"] == "llm-api" and series["points"]
    assert evidence["mariadb"]["up"] == 0
    assert evidence["access_log"]["lines"][-1].endswith('"probe/4"') and "t0ps3cret" not in str(evidence)
