"""A check job inside a real `opsplan serve`: on its schedule it reads serve's own metrics store,
stores the run, and exports its status (the command line beside serve: test_store_beside_serve.py)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import httpx

import yaml_writer
from serve_process import OPSPLAN, start_serve, wait_for_cycles, wait_until


def test_serves_daily_job_reads_its_store_and_exports_the_run(tmp_path: Path):
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en", "monitoring": {"interval": "1s"}, "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "checks": {"daily": {"schedule": "* * * * *", "items": [
            {"id": "system.usage", "ko": "CPU/메모리/디스크 사용률", "en": "CPU/memory/disk usage"},
            {"id": "mariadb.status", "ko": "MariaDB 상태", "en": "MariaDB status"}]}}})
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 2, timeout=60)
        exported = wait_until(lambda: re.search(r'^opsplan_check_status\{period="daily"\} (\S+)$',
                                                httpx.get(url + "metrics", timeout=5).text, re.M), timeout=150)
        assert float(exported.group(1)) in (0.0, 3.0, 4.0)  # graded from data: not 2 (not-run)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    listed = subprocess.run([*OPSPLAN, "--plan", str(plan), "check", "list", "--json"], capture_output=True,
                            text=True, timeout=120)
    run = json.loads(listed.stdout)["runs"][-1]
    assert run["actor"] == "opsplan serve (schedule)"
    shown = json.loads(subprocess.run([*OPSPLAN, "--plan", str(plan), "check", "show", str(run["id"]), "--json"],
                                      capture_output=True, text=True, timeout=120).stdout)
    usage = shown["items"][0]
    assert usage["status"] != "not-run", usage  # serve's store had this machine's CPU, memory and disks
    assert shown["items"][1]["status"] == "fail"  # no MariaDB on that port: down the whole window
