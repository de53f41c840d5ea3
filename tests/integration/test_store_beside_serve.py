"""The command line reads the metrics store while a real `opsplan serve` writes it: `opsplan sla
report` gets the stored availability, `opsplan check run daily` grades from the stored figures, and
serve keeps appending its cycles, none lost."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

import yaml_writer
from http_stubs import Service
from opsplan.store import MetricsStore
from serve_process import OPSPLAN, start_serve, wait_for_cycles


def cycles(url: str) -> int:
    match = re.search(r"^opsplan_cycles_total (\d+)", httpx.get(url + "metrics", timeout=5).text, re.M)
    assert match is not None
    return int(float(match.group(1)))


def test_check_run_and_sla_report_read_the_store_while_serve_writes_it(tmp_path: Path) -> None:
    api = Service()
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en", "monitoring": {"interval": "1s"},
        "services": [{"name": "llm-api", "url": api.url}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "checks": {"daily": {"schedule": "0 9 * * *", "items": [
            {"id": "system.usage", "ko": "CPU/메모리/디스크 사용률", "en": "CPU/memory/disk usage"},
            {"id": "mariadb.status", "ko": "MariaDB 상태", "en": "MariaDB status"}]}}})
    started = time.time()
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 3, timeout=60)
        sla = subprocess.run([*OPSPLAN, "--plan", str(plan), "sla", "report", "--json"], capture_output=True,
                             text=True, timeout=120)
        assert sla.returncode == 0, sla.stderr
        service = json.loads(sla.stdout)["services"][0]
        # From serve's stored samples (not "unknown", not the incident fallback): the API answered.
        assert service["service"] == "llm-api" and service["source"] == "samples"
        assert service["availability"] == 1.0 and service["sampled_seconds"] > 0

        checked = subprocess.run([*OPSPLAN, "--plan", str(plan), "check", "run", "daily", "--json"],
                                 capture_output=True, text=True, timeout=120)
        assert checked.returncode == 1, checked.stderr  # an item failed, graded from the stored data
        items = {item["item_id"]: item for item in json.loads(checked.stdout)["items"]}
        usage = items["system.usage"]
        assert usage["status"] != "not-run", usage  # serve's CPU, memory and disks, read beside it
        names = {f["name"]["key"] for f in usage["result"]["figures"]}
        assert {"checks.fig.cpu_p95", "checks.fig.memory_p95"} <= names
        assert items["mariadb.status"]["status"] == "fail"  # nothing on that port: stored as down

        after_cli = cycles(url)
        wait_for_cycles(url, after_cli + 3, timeout=60)  # serve's next cycles append as before
        assert "metrics store" not in httpx.get(url + "healthz", timeout=5).text.lower()
        last_seen = cycles(url)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    with MetricsStore(tmp_path / "data" / "metrics", sync=False) as store:  # serve is gone: the lock is free
        # 10 ms buckets: one per stored cycle, the ones written before, while and after the CLI read.
        found = store.query("opsplan_api_up", {"service": "llm-api"}, started - 5, time.time() + 5, 0.01)
        assert len(found) == 1 and len(found[0].points) >= last_seen  # every cycle stored, none lost
