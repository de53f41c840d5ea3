"""Two real `opsplan serve` processes of one plan on one state database (SQLite, PostgreSQL, MariaDB):
exactly one is active and delivers; the holder is killed with SIGKILL while a notification waits in
the outbox for its retry, the standby takes over within two collection intervals, and a real webhook
receiver hears the notification exactly once. Roles are read where an operator reads them:
/healthz, /metrics and the console's overview."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

import yaml_writer
from http_stubs import Service
from opsplan.notify.outbox import PENDING, OutboxRow
from opsplan.store.state import StateDB
from serve_process import add_user, logged_in, start_serve, wait_until
from state_engines import STATE_URL_ENV

pytestmark = pytest.mark.slow

INTERVAL = 2.0  # seconds: the plan's collection interval
BOUND = 2 * INTERVAL  # the takeover target: two collection intervals after the holder's death
POLL_SLACK = 2.0  # how late this test's polling of /healthz may notice it


class Receiver:
    """A real webhook endpoint (apprise's json://) that refuses (503) while `refusing`, and counts
    what it accepted."""

    def __init__(self) -> None:
        self.refusing = True
        self.accepted: list[dict] = []
        self.refused = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with owner._lock:
                    refuse = owner.refusing
                    if refuse:
                        owner.refused += 1
                    else:
                        owner.accepted.append(body)
                self.send_response(503 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def heard(self, alert: str) -> int:
        with self._lock:
            return len([p for p in self.accepted if alert in p.get("title", "")])


def role(url: str) -> str | None:
    try:
        return httpx.get(url + "healthz", timeout=3).json().get("role")
    except httpx.HTTPError:
        return None


def firing(url: str, alert: str) -> bool:
    groups = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
    return any(a["alert"] == alert and a["state"] == "firing" for group in groups for a in group["alerts"])


def role_gauge(url: str) -> dict[str, float]:
    text = httpx.get(url + "metrics", timeout=5).text
    found = re.finditer(r'^opsplan_serve_role\{role="(\w+)"\} (\S+)', text, re.M)
    return {m.group(1): float(m.group(2)) for m in found}


def api_down_row(url: str) -> OutboxRow | None:
    db = StateDB.open(url, migrate=False)
    try:
        with db.session() as session:
            return session.scalars(select(OutboxRow).where(OutboxRow.alert == "ApiDown")).first()
    finally:
        db.close()


def write_plan(directory: Path, service: Service) -> Path:
    directory.mkdir()
    return yaml_writer.write_plan(directory, {
        "language": "en", "state_db_url_env": STATE_URL_ENV,
        "monitoring": {"interval": f"{INTERVAL:g}s",
                       "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                  "gpu_missing": {"enabled": False}, "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "notifications": {"channels": [{"name": "ops-hook", "kind": "webhook", "url_env": "OPS_HOOK_URL",
                                        "severities": ["critical", "warning"]}]},
    })


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_one_active_serve_delivers_and_a_standby_takes_over_after_sigkill_without_a_duplicate(
        tmp_path: Path, engine_state_url: str):
    service, hook = Service(), Receiver()
    # Two serves of one plan (one server name), each with its own data directory, one state database.
    plan_a, plan_b = write_plan(tmp_path / "a", service), write_plan(tmp_path / "b", service)
    env = {"OPS_HOOK_URL": hook.url}  # STATE_URL_ENV is already in this process's environment
    procs: list[subprocess.Popen] = []
    try:
        add_user(plan_b, "kim", "viewer")
        service.healthy = False  # ApiDown fires after 2 s
        proc_a, url_a = start_serve(plan_a, env=env)
        procs.append(proc_a)
        wait_until(lambda: role(url_a) == "active")
        proc_b, url_b = start_serve(plan_b, env=env)
        procs.append(proc_b)
        wait_until(lambda: role(url_b) == "standby")
        assert role(url_a) == "active"  # exactly one
        wait_until(lambda: role_gauge(url_b) == {"active": 0.0, "standby": 1.0})
        assert role_gauge(url_a) == {"active": 1.0, "standby": 0.0}
        console = logged_in(url_b, "kim")  # the standby serves reads: its overview says what it is
        try:
            page = console.get("")
            assert page.status_code == 200 and "role: standby" in page.text
        finally:
            console.close()

        # The active one tries the webhook, which refuses: the notification waits for its retry.
        wait_until(lambda: hook.refused >= 1)
        wait_until(lambda: firing(url_b, "ApiDown"))  # the standby's alerts API reads what the active wrote
        row = wait_until(lambda: (r := api_down_row(engine_state_url)) is not None and r.attempts >= 1 and r)
        assert row.status == PENDING and hook.heard("ApiDown") == 0

        proc_a.send_signal(signal.SIGKILL)  # the holder dies with the notification pending
        killed = time.monotonic()
        proc_a.wait(timeout=10)
        wait_until(lambda: role(url_b) == "active", timeout=BOUND + POLL_SLACK)
        assert time.monotonic() - killed <= BOUND + POLL_SLACK
        hook.refusing = False
        # The new holder retries the row at its due time (the first retry is 30 s after the refusal).
        wait_until(lambda: hook.heard("ApiDown") >= 1, timeout=90)
        wait_until(lambda: role_gauge(url_b).get("active") == 1.0)
        time.sleep(3 * INTERVAL)  # a few more cycles: nothing else arrives
        assert hook.heard("ApiDown") == 1
        assert api_down_row(engine_state_url).status == "sent"

        # The killed serve comes back: the plan has its active one, so it stands by; still one message.
        proc_a, url_a = start_serve(plan_a, env=env)
        procs.append(proc_a)
        wait_until(lambda: role(url_a) == "standby")
        assert role(url_b) == "active"
        time.sleep(2 * INTERVAL)
        assert hook.heard("ApiDown") == 1
    finally:
        for proc in procs:
            stop(proc)
        service.server.shutdown()
        hook.server.shutdown()
    log_b = (tmp_path / "b" / "opsplan.log").read_text(encoding="utf-8")
    # The transitions are logged once each: standby at start, active at the takeover.
    assert log_b.count("this serve is a standby for plan") == 1
    assert log_b.count("this serve is now the active one for plan") == 1
