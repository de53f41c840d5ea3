"""A full data disk never silences alerting: a real `opsplan serve` on a small tmpfs, a service that
fails, a real webhook that must hear it once; /healthz says 503 while nothing can be written, and the
state database catches up when the disk has room again."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import yaml_writer
from http_stubs import Service, Webhook
from serve_process import add_user, logged_in, start_serve, wait_for_cycles, wait_until

TOKEN = "t0ken-for-the-silence-api"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mountpoint)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


@pytest.fixture
def stack(tmp_path: Path, disk: Path):
    service, hook = Service(), Webhook()
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en",
        "data_dir": str(disk / "opsplan"),
        "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                                    "gpu_missing": {"enabled": False},
                                                    "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "web": {"port": 0, "api_token_env": "OPS_TOKEN"},
        "notifications": {"channels": [{"name": "ops-hook", "kind": "webhook", "url_env": "OPS_HOOK_URL",
                                        "severities": ["critical", "warning"]}]},
    })
    yield plan, service, hook, {"OPS_HOOK_URL": hook.url, "OPS_TOKEN": TOKEN}
    service.server.shutdown()
    hook.server.shutdown()


def fill(path: Path) -> Path:
    """Write `path` until the filesystem has no room left (when there is none, not even the file
    itself can be created: that is full too)."""
    try:
        with path.open("wb") as fh:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
    except OSError:
        pass
    return path


def health(url: str) -> httpx.Response:
    return httpx.get(url + "healthz", timeout=5)


def unhealthy_because(url: str, *words: str) -> str | None:
    response = health(url)
    reason = response.json().get("persistence") or ""
    return reason if response.status_code == 503 and all(w in reason for w in words) else None


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def stored_alerts(data_dir: Path, alert: str) -> list[tuple[str, int, float | None]]:
    with sqlite3.connect(data_dir / "state.db") as db:
        return db.execute("SELECT state, notified, resolved_at FROM alerts WHERE alert = ?", (alert,)).fetchall()


def test_alerts_fire_and_are_heard_once_while_the_data_disk_is_full(stack, disk: Path):
    plan, service, hook, env = stack
    data_dir = disk / "opsplan"
    add_user(plan, "view01", "viewer")
    proc, url = start_serve(plan, env=env)
    fillers: list[Path] = []
    try:
        metrics = wait_for_cycles(url, 2)
        viewer = logged_in(url, "view01")  # before the disk fills: a login writes a session
        assert f'opsplan_disk_usage_ratio{{mountpoint="{disk}"}}' in metrics  # the data disk is watched
        assert health(url).status_code == 200
        assert (data_dir / ".reserve").stat().st_size == 512 * 1024  # 1/16 of this small disk

        fillers.append(fill(disk / "filler"))
        assert wait_until(lambda: unhealthy_because(url, "no space left on device"))
        wait_until(lambda: not (data_dir / ".reserve").exists())  # given back for the state database
        fillers.append(fill(disk / "filler-2"))  # and that room eaten too: nothing can be written at all

        service.healthy = False
        wait_until(lambda: hook.heard("ApiDown", "firing"), timeout=40)
        assert unhealthy_because(url, "state database: no space left on device")
        assert "ApiDown" in viewer.get("").text  # the console shows it from memory, the session still read
        silence = httpx.post(url + "api/v1/silences", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5,
                             json={"matchers": [{"name": "alertname", "value": "CpuUsageHigh"}],
                                   "author": "kim", "duration": "1h"})
        assert silence.status_code in (201, 503)  # never a 500
        if silence.status_code == 503:
            assert "no space left on device" in silence.json()["detail"]

        for filler in fillers:
            filler.unlink(missing_ok=True)
        wait_until(lambda: health(url).status_code == 200, timeout=40)
        assert health(url).json()["persistence"] is None
        assert (data_dir / ".reserve").exists()  # made again
        firing = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
        assert [a["state"] for g in firing for a in g["alerts"] if a["alert"] == "ApiDown"] == ["firing"]

        service.healthy = True
        wait_until(lambda: hook.heard("ApiDown", "resolved"))
    finally:
        for filler in fillers:
            filler.unlink(missing_ok=True)
        stop(proc)
    assert proc.returncode == 0
    assert len(hook.heard("ApiDown", "firing")) == 1 and len(hook.heard("ApiDown", "resolved")) == 1
    [(state, notified, resolved_at)] = stored_alerts(data_dir, "ApiDown")
    assert (state, notified) == ("resolved", 1) and resolved_at is not None
    with sqlite3.connect(data_dir / "state.db") as db:
        outbox = db.execute("SELECT kind, status FROM notify_outbox WHERE alert = 'ApiDown' ORDER BY id").fetchall()
    assert outbox == [("firing", "sent"), ("resolved", "sent")]  # recorded once each, as sent
    assert "Traceback" not in (plan.parent / "opsplan.log").read_text()  # a full disk is said in one line


def test_serve_starts_on_a_full_disk_in_monitoring_only_mode(stack, disk: Path):
    plan, service, hook, env = stack
    data_dir = disk / "opsplan"
    filler = fill(disk / "filler")
    proc, url = start_serve(plan, env=env)
    try:
        wait_for_cycles(url, 2)
        reason = wait_until(lambda: unhealthy_because(url, "monitoring only"))
        assert "\n" not in reason
        service.healthy = False
        wait_until(lambda: hook.heard("ApiDown", "firing"), timeout=40)

        filler.unlink()  # room again: the state database opens and what was kept in memory is written
        wait_until(lambda: unhealthy_because(url, "restart opsplan serve"), timeout=60)
        wait_until(lambda: [a for g in httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
                            for a in g["alerts"] if a["alert"] == "ApiDown" and a["state"] == "firing"], timeout=40)
    finally:
        filler.unlink(missing_ok=True)
        stop(proc)
    assert proc.returncode == 0
    assert proc.stderr is not None and "monitoring-only mode" in proc.stderr.read()

    # Restarted with room: full service, the alert is still firing and nobody is told twice.
    proc, url = start_serve(plan, env=env)
    try:
        wait_for_cycles(url, 3)
        wait_until(lambda: health(url).status_code == 200)
        assert [a["state"] for g in httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
                for a in g["alerts"] if a["alert"] == "ApiDown"] == ["firing"]
    finally:
        stop(proc)
    assert len(hook.heard("ApiDown", "firing")) == 1
    assert stored_alerts(data_dir, "ApiDown")[0][:2] == ("firing", 1)
    assert "Traceback" not in (plan.parent / "opsplan.log").read_text()
