"""The dead-man's switch against a real local HTTP receiver: it arrives, a failure is counted and
logged once (without the URL), a slow monitor costs at most the timeout, the stage runs it as a worker."""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opsplan.metrics import Cycle
from opsplan.oncall.heartbeat import HeartbeatSender
from opsplan.plan.models import Heartbeat, OnCall, Plan
from opsplan.stages import oncall as oncall_stage
from opsplan.stages.part import StageContext
from opsplan.store.state import StateDB

TOKEN = "c0ffee-5ecret-check-id"


class Monitor:
    """Records each call (method, path); answers `status`, after `delay` seconds."""

    def __init__(self, status: int = 200, delay: float = 0.0):
        self.calls: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                time.sleep(delay)
                owner.calls.append((self.command, self.path))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/{TOKEN}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_heartbeat_reaches_the_monitor_by_post_with_the_url_from_the_environment():
    monitor = Monitor()
    try:
        sender = HeartbeatSender(Heartbeat(url_env="HEARTBEAT_URL", method="POST"), {"HEARTBEAT_URL": monitor.url},
                                 clock=lambda: 1_800_000_000.0)
        assert sender.beat_once()
        assert monitor.calls == [("POST", f"/ping/{TOKEN}")]
        values = {s.name: s.value for s in sender.samples()}
        assert values == {"opsplan_heartbeat_failures_total": 0.0,
                          "opsplan_heartbeat_last_success_timestamp": 1_800_000_000.0}
    finally:
        monitor.close()


def test_the_url_may_come_from_a_0600_file(tmp_path):
    monitor = Monitor()
    try:
        secret = tmp_path / "heartbeat-url"
        secret.write_text(monitor.url + "\n")
        secret.chmod(0o600)
        assert HeartbeatSender(Heartbeat(url_file=secret), {}).beat_once()
        assert monitor.calls == [("GET", f"/ping/{TOKEN}")]
    finally:
        monitor.close()


def test_failures_are_counted_and_logged_once_without_the_url(caplog):
    url = f"http://127.0.0.1:{closed_port()}/ping/{TOKEN}"
    sender = HeartbeatSender(Heartbeat(url_env="HEARTBEAT_URL", timeout=2), {"HEARTBEAT_URL": url})
    with caplog.at_level(logging.INFO, logger="opsplan.oncall.heartbeat"):
        assert not any(sender.beat_once() for _ in range(3))
    assert {s.name: s.value for s in sender.samples()}["opsplan_heartbeat_failures_total"] == 3.0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ConnectError" in errors[0].getMessage()
    assert TOKEN not in caplog.text


def test_a_monitor_that_answers_an_error_status_counts_as_a_failure_and_recovery_is_logged(caplog):
    failing, working = Monitor(status=503), Monitor()
    env = {"HEARTBEAT_URL": failing.url}
    sender = HeartbeatSender(Heartbeat(url_env="HEARTBEAT_URL"), env)
    try:
        with caplog.at_level(logging.INFO, logger="opsplan.oncall.heartbeat"):
            assert not sender.beat_once()
            env["HEARTBEAT_URL"] = working.url
            assert sender.beat_once()
        assert "status 503" in caplog.text and "work again" in caplog.text
    finally:
        failing.close()
        working.close()


def test_a_slow_monitor_costs_at_most_the_timeout():
    slow = Monitor(delay=3.0)
    try:
        sender = HeartbeatSender(Heartbeat(url_env="HEARTBEAT_URL", timeout=0.5), {"HEARTBEAT_URL": slow.url})
        started = time.monotonic()
        assert not sender.beat_once()
        assert time.monotonic() - started < 2.5
    finally:
        slow.close()


def test_serve_runs_the_heartbeat_as_a_worker_that_stops_when_asked(tmp_path):
    monitor = Monitor()
    try:
        plan = Plan(oncall=OnCall(heartbeat=Heartbeat(url_env="HEARTBEAT_URL", every=60)))
        db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
        part = oncall_stage.STAGE.build(StageContext(plan=plan, state_db=db, environ={"HEARTBEAT_URL": monitor.url}))
        worker = next(w for w in part.workers if w.name == "heartbeat")
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not monitor.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.stop()
        thread.join(5)
        assert monitor.calls and not thread.is_alive()
        cycle = Cycle(0.0, [], 0.1)
        for hook in part.on_cycle:
            hook(cycle)
        assert any(s.name == "opsplan_heartbeat_last_success_timestamp" and s.value > 0 for s in cycle.samples)
    finally:
        monitor.close()
