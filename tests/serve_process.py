"""Runs `opsplan serve` as a real process for tests: started on a free port, found by its announcement."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

OPSPLAN = [sys.executable, "-m", "opsplan"]


def start_serve(plan: Path, *extra: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*OPSPLAN, "--plan", str(plan), "--log-file", str(plan.parent / "opsplan.log"),
                             "serve", "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"(https?://127\.0\.0\.1:\d+/)", line)
        if match:
            return proc, match.group(1)
    proc.kill()
    raise AssertionError(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")


def wait_for_cycles(url: str, count: int, timeout: float = 20) -> str:
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = httpx.get(url + "metrics", timeout=5).text
        match = re.search(r"^opsplan_cycles_total (\d+)", text, re.M)
        if match and float(match.group(1)) >= count:
            return text
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} cycles within {timeout}s:\n{text[:2000]}")


def wait_until(check, timeout: float = 30):
    """Poll `check` until it returns something truthy (and return that), or fail after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"condition not met within {timeout:g}s")


TEST_PASSWORD = "correct horse battery staple"


def add_user(plan: Path, name: str, role: str, password: str = TEST_PASSWORD) -> None:
    """A console user made as an operator makes one: `opsplan user add --password-stdin`."""
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), "user", "add", name, "--role", role, "--password-stdin"],
                          input=password + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def logged_in(url: str, name: str, password: str = TEST_PASSWORD) -> httpx.Client:
    """An HTTP client holding a console session of `name` (the pages need one)."""
    client = httpx.Client(base_url=url, timeout=10)
    answer = client.post("login", data={"name": name, "password": password},
                         headers={"Origin": url.rstrip("/")}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    return client
