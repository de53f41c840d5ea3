"""A dead thread is not a silent one (issue 9, item 5), in a real `opsplan serve`: an Alertmanager (or
a proxy before it) answers an error whose body cannot be decoded, which ends the push thread; /healthz
answers 503 naming it while it is down, it is restarted with backoff, the cause is logged once (with
its traceback, in the log file, not on stderr), and once Alertmanager answers well the alert arrives
and /healthz is 200 again."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import yaml_writer
from serve_process import start_serve, wait_for_cycles, wait_until

pytestmark = pytest.mark.slow


class Alertmanager:
    """Takes POST /api/v2/alerts; while `broken`, answers 500 with a body that is not in its charset."""

    def __init__(self) -> None:
        self.broken = True
        self.posts: list[list[dict]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if owner.broken:
                    self.send_response(500)
                    self.send_header("Content-Type", "text/plain; charset=utf-32")  # no BOM follows
                    payload = b"upstream error"
                else:
                    owner.posts.append(json.loads(body))
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    payload = b"{}"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def alertmanager() -> Iterator[Alertmanager]:
    am = Alertmanager()
    yield am
    am.server.shutdown()


def test_a_dead_push_thread_is_a_503_restarts_with_backoff_and_the_cause_is_logged_once(
        tmp_path: Path, alertmanager: Alertmanager):
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en",
        "monitoring": {"interval": "1s", "alertmanager_url": alertmanager.url,
                       "alerts": {"api_down": {"for": "1s"}, "mariadb_down": {"enabled": False},
                                  "gpu_missing": {"enabled": False}, "backup_age": {"enabled": False}}},
        # Nothing listens there: ApiDown fires, and the push thread has something to post.
        "services": [{"name": "llm-api", "group": "app", "url": f"http://127.0.0.1:{yaml_writer.free_port()}/health",
                      "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "web": {"port": 0},
    })
    proc, url = start_serve(plan)
    try:
        wait_for_cycles(url, 1)

        def push_is_dead() -> dict | None:
            response = httpx.get(url + "healthz", timeout=5)
            body = response.json()
            return body if response.status_code == 503 and "alertmanager push" in (body["threads"] or "") else None

        body = wait_until(push_is_dead, timeout=30)
        assert body["threads"].startswith("alertmanager push: died: UnicodeError: ")
        assert "restarting in" in body["threads"] and body["status"] == "degraded"
        assert proc.poll() is None  # the process serves on; only the thread is down
        # It dies again on each restart (after 1 s, then 2 s) for the same cause.
        wait_until(lambda: "death 3 in a row" in (push_is_dead() or {}).get("threads", ""), timeout=20)

        alertmanager.broken = False
        wait_until(lambda: httpx.get(url + "healthz", timeout=5).status_code == 200, timeout=30)
        assert httpx.get(url + "healthz", timeout=5).json()["threads"] is None
        wait_until(lambda: alertmanager.posts, timeout=10)
        assert any(a["labels"]["alertname"] == "ApiDown" for a in alertmanager.posts[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    log = (tmp_path / "opsplan.log").read_text(encoding="utf-8")
    deaths = [line for line in log.splitlines() if "thread alertmanager push died: UnicodeError" in line]
    assert len(deaths) == 1, deaths  # once per cause, not once per restart
    assert "Traceback (most recent call last)" in log and "UnicodeError" in log
    assert "Traceback" not in stderr  # the traceback went to the log file, not to the console

