"""`opsplan serve` as an operator runs it: a real process, scraped over HTTP, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

import yaml_writer
from serve_process import OPSPLAN, add_user, logged_in, start_serve, wait_for_cycles


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    return yaml_writer.write_plan(tmp_path, {
        "monitoring": {"interval": "1s"},
        "services": [{"name": "llm-api", "group": "app", "url": f"http://127.0.0.1:{yaml_writer.free_port()}/health",
                      "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
    })


def test_serve_scrapes_stops_on_sigterm_and_keeps_what_it_stored(plan_file: Path, tmp_path: Path):
    fake_nvml = yaml_writer.four_gpus(tmp_path)
    add_user(plan_file, "view01", "viewer")
    proc, url = start_serve(plan_file, env={"OPSPLAN_FAKE_NVML": str(fake_nvml)})
    try:
        text = wait_for_cycles(url, 3)
        # What an external Prometheus sees: the seed's system metrics, GPUs by group, failing parts as down.
        assert re.search(r"^opsplan_cpu_usage_ratio [0-9.e-]+$", text, re.M)
        assert re.search(r'^opsplan_gpu_utilization_ratio\{gpu="3",group="app"\}', text, re.M)
        assert re.search(r"^opsplan_mariadb_up 0\.0$", text, re.M)
        assert re.search(r'^opsplan_api_up\{service="llm-api"\} 0\.0$', text, re.M)
        assert re.search(r'^opsplan_collector_up\{collector="system"\} 1\.0$', text, re.M)

        health = httpx.get(url + "healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # uvicorn's once-a-second header timer is gone: the Date header is still there and current.
        assert abs(parsedate_to_datetime(health.headers["date"]).timestamp() - time.time()) < 60

        status = httpx.get(url + "api/v1/status", timeout=5).json()
        assert [g["id"] for g in status["groups"]] == ["ai", "app"]
        assert [g["gpu"] for g in status["groups"][0]["gpus"]] == ["0", "1", "2"]
        assert status["mariadb"]["up"] == 0

        # The console's pages need a login: a browser without a session is sent to /login.
        refused = httpx.get(url, timeout=5)
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        viewer = logged_in(url, "view01")
        page = viewer.get("")
        assert page.status_code == 200
        assert "AI 시스템" in page.text and "애플리케이션/DB" in page.text  # the plan's language is ko
        assert re.search(r'id="gpu-count">[^<]*: 4 / 4<', page.text)
        assert "(상세: connection refused)" in page.text  # why MariaDB is down, not just that it is
        assert "AI system" in viewer.get("?lang=en").text

        # Read-only: nothing accepts a write.
        assert httpx.post(url + "api/v1/status", timeout=5).status_code == 405

        stopped_at = time.time()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert time.time() - stopped_at < 5
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()

    # Started again on the same data directory, the cycles written before are still there.
    proc, url = start_serve(plan_file, env={"OPSPLAN_FAKE_NVML": str(fake_nvml)})
    try:
        answer = httpx.get(url + "api/v1/query", params={"metric": "opsplan_cycles_total", "start": "now-10m",
                                                         "step": 1}, timeout=5).json()
        points = answer["series"][0]["points"]
        assert len(points) >= 3
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_serve_rejects_hostile_queries_with_one_line(plan_file: Path):
    proc, url = start_serve(plan_file)
    try:
        wait_for_cycles(url, 1)
        bad = [
            {"metric": "x;drop"},
            {"metric": "opsplan_cpu_usage_ratio", "step": "-1"},
            {"metric": "opsplan_cpu_usage_ratio", "start": "yesterday"},
            {"metric": "opsplan_cpu_usage_ratio", "start": "0", "end": "1e12", "step": "1"},
            {"metric": "opsplan_cpu_usage_ratio", "match": "nolabel"},
        ]
        for params in bad:
            response = httpx.get(url + "api/v1/query", params=params, timeout=5)
            assert 400 <= response.status_code < 500, params
            assert "Traceback" not in response.text
        huge = httpx.get(url + "api/v1/query", params={"metric": "a" * 5000}, timeout=5)
        assert huge.status_code in (414, 422, 400)
        assert proc.poll() is None  # still serving
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_serve_with_a_bad_plan_gives_one_line_and_status_2(tmp_path: Path):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("monitoring:\n  interval: soon\n", encoding="utf-8")
    result = subprocess.run([*OPSPLAN, "--plan", str(plan), "serve"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "opsplan.yaml:2: monitoring.interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_collect_once_json_reports_every_collector(plan_file: Path, tmp_path: Path):
    result = subprocess.run([*OPSPLAN, "--plan", str(plan_file), "collect", "--once", "--json"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "OPSPLAN_FAKE_NVML": str(yaml_writer.four_gpus(tmp_path))})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    names = {c["name"] for c in data["collectors"]}
    assert {"system", "gpu", "allocation", "mariadb", "services"} <= names
    assert any(s["name"] == "opsplan_memory_usage_ratio" for s in data["samples"])


def test_a_new_install_says_how_to_make_the_first_admin(plan_file: Path):
    proc, url = start_serve(plan_file)
    try:
        assert proc.stdout is not None
        hint = proc.stdout.readline()  # the line after the URL
        assert "opsplan user add NAME --role admin" in hint, hint
        # A browser is sent to the login form, which says the same.
        login = httpx.get(url, timeout=5, follow_redirects=True)
        assert login.url.path == "/login" and "opsplan user add NAME --role admin" in login.text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    add_user(plan_file, "admin01", "admin")
    proc, url = start_serve(plan_file)
    try:
        assert "user add" not in httpx.get(url + "login", timeout=5).text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
