"""A full disk under the data directory: serving goes on, the operator is told, nothing written is lost."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

import yaml_writer
from serve_process import add_user, logged_in, start_serve, wait_for_cycles, wait_until


@pytest.fixture
def tiny_disk(tmp_path: Path):
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def cycles(metrics_text: str) -> int:
    match = re.search(r"^opsplan_cycles_total (\S+)$", metrics_text, re.M)
    assert match, "no opsplan_cycles_total in /metrics"
    return int(float(match.group(1)))


def store_error(url: str) -> str | None:
    return httpx.get(url + "healthz", timeout=5).json()["store_error"]


def test_a_full_disk_is_reported_and_nothing_written_is_lost(tiny_disk: Path, tmp_path: Path):
    plan = yaml_writer.write_plan(tmp_path, {
        "data_dir": str(tiny_disk / "opsplan"),
        "monitoring": {"interval": "1s"},
        "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
    })
    add_user(plan, "view01", "viewer")
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 3)
        viewer = logged_in(url, "view01")  # logged in before the disk fills (a login writes a session)
        filler = fill(tiny_disk)
        message = wait_until(lambda: store_error(url))
        assert "No space left on device" in message and "\n" not in message
        # Collection and /metrics go on while the store cannot write.
        before = cycles(wait_for_cycles(url, 1))
        wait_for_cycles(url, before + 2)
        # The console still shows it (the session is read; its idle clock waits for a writable disk).
        assert "No space left on device" in viewer.get("").text

        filler.unlink()
        wait_until(lambda: store_error(url) is None)
        wait_for_cycles(url, before + 4)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()

    # What was written before the disk filled, and after it had room again, is all there.
    proc, url = start_serve(plan)
    try:
        points = httpx.get(url + "api/v1/query", params={"metric": "opsplan_cycles_total", "start": "now-10m",
                                                         "step": 1}, timeout=5).json()["series"][0]["points"]
        counts = [int(p[4]) for p in points]
        first_run = counts[:next((i for i in range(1, len(counts)) if counts[i] < counts[i - 1]), len(counts))]
        assert first_run[:3] == [1, 2, 3]  # the first cycles, from before the disk filled
        assert first_run[-1] >= before + 3  # cycles stored after space came back
        assert len(set(first_run)) == len(first_run)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(tiny_disk / "opsplan", ignore_errors=True)
