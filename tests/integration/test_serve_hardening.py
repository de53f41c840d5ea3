"""`opsplan serve` under hostile requests (issue 9, items 1 and 6), as a real process on a free port."""

from __future__ import annotations

import signal
import socket
import stat
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

import yaml_writer
from opsplan.metrics import sample
from opsplan.store import MetricsStore
from serve_process import start_serve, wait_for_cycles

pytestmark = pytest.mark.slow


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    return yaml_writer.write_plan(tmp_path, {
        "monitoring": {"interval": "1s"},
        "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
    })


def test_a_backtracking_regex_never_stalls_healthz(plan_file: Path, tmp_path: Path):
    # A series whose label value makes `(a+)+$` take 2^34 steps in a backtracking engine.
    with MetricsStore(tmp_path / "data" / "metrics") as store:
        store.append(time.time() - 60, [sample("victim_value", 1.0, value="a" * 34 + "b")])
    proc, url = start_serve(plan_file)
    try:
        wait_for_cycles(url, 2)
        answer: dict = {}

        def evil_query() -> None:
            began = time.monotonic()
            try:
                answer["response"] = httpx.get(url + "api/v1/query", timeout=30, params={
                    "metric": "victim_value", "match": "value~=(a+)+$", "start": "now-10m"})
            except httpx.HTTPError as exc:
                answer["error"] = exc
            answer["seconds"] = time.monotonic() - began

        thread = threading.Thread(target=evil_query)
        thread.start()
        health = []
        for _ in range(5):  # while the query runs (or right after it): each answer within a second
            try:
                health.append(httpx.get(url + "healthz", timeout=1).status_code)
            except httpx.TimeoutException:
                health.append("timed out")
            time.sleep(0.2)
        thread.join(35)
        assert health == [200] * 5
        assert "error" not in answer and answer["response"].status_code == 200
        assert answer["response"].json()["series"] == [] and answer["seconds"] < 5
        # The regex engine still selects what it should.
        found = httpx.get(url + "api/v1/query", timeout=5, params={
            "metric": "victim_value", "match": "value~=a+b", "start": "now-10m"}).json()["series"]
        assert [s["labels"]["value"] for s in found] == ["a" * 34 + "b"]
    finally:
        proc.kill()
        proc.wait(10)


def test_serve_answers_its_own_names_only_and_keeps_its_files_and_errors_private(plan_file: Path, tmp_path: Path):
    proc, url = start_serve(plan_file)
    try:
        wait_for_cycles(url, 2)
        port = urlsplit(url).port
        status = httpx.get(url + "api/v1/status", timeout=5)
        assert status.status_code == 200
        assert status.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in status.headers["content-security-policy"]
        assert httpx.get(f"http://localhost:{port}/healthz", timeout=5).status_code == 200
        # DNS rebinding: a page of rebind.attacker.example, its name re-pointed at 127.0.0.1.
        rebound = httpx.get(url + "api/v1/status", headers={"host": f"rebind.attacker.example:{port}"}, timeout=5)
        assert rebound.status_code == 400 and "groups" not in rebound.text
        # A request the HTTP parser refuses makes the server log a warning: to the log file, not stderr.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            raw.recv(1000)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    log = (tmp_path / "opsplan.log").read_text(encoding="utf-8")
    assert "Invalid HTTP request" in log
    assert "Invalid HTTP request" not in stderr and "Traceback" not in stderr, stderr
    data = tmp_path / "data"
    found = {str(p.relative_to(data)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [data, *data.rglob("*")]}
    assert "state.db" in found and "metrics/series.log" in found
    loose = {name: mode for name, mode in found.items() if mode not in ("0o600", "0o700")}
    assert not loose, f"readable by other users: {loose}"
