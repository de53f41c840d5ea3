"""Service controllers (systemd, docker, commands) and health probes, with real processes and sockets.

systemctl and docker are stand-in scripts on PATH that record their argv and answer like the real
tools (the build machines have neither a systemd PID 1 nor a Docker daemon).
"""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from opsplan.errors import RunbookError
from opsplan.plan.models import Database, HealthProbe, ServiceControl
from opsplan.runbooks.restore.service_control import (
    ServiceController,
    describe_probe,
    http_once,
    probe_for,
    tcp_once,
    wait_down,
    wait_healthy,
)

FAKE_TOOL = """#!{python}
import json, sys
with open({log!r}, "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
if "inspect" in sys.argv:
    print("true")
sys.exit(int(open({rc!r}).read()) if __import__("os").path.exists({rc!r}) else 0)
"""


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, rc = tmp_path / "calls.log", tmp_path / "rc"
    for name in ("systemctl", "docker"):
        tool = bin_dir / name
        tool.write_text(FAKE_TOOL.format(python=sys.executable, log=str(log), rc=str(rc)))
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")

    def calls() -> list[list[str]]:
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    return calls, rc


def test_systemd_stops_starts_and_asks_is_active_by_unit(fake_tools):
    calls, _ = fake_tools
    db = ServiceController("database", ServiceControl(kind="systemd", unit="mariadb.service"))
    assert db.stop() == "database service: stop ok"
    db.start()
    assert db.is_active() is True
    assert calls() == [["stop", "mariadb.service"], ["start", "mariadb.service"],
                       ["is-active", "--quiet", "mariadb.service"]]
    assert db.stop_args()[0].endswith("/systemctl")


def test_docker_uses_the_container_name_and_reads_its_running_state(fake_tools):
    calls, _ = fake_tools
    api = ServiceController("api", ServiceControl(kind="docker", container="llm-api"))
    api.stop()
    api.start()
    assert api.is_active() is True
    assert calls() == [["stop", "llm-api"], ["start", "llm-api"],
                       ["inspect", "--format", "{{.State.Running}}", "llm-api"]]


def test_a_failing_stop_is_one_line_with_the_exit_code(fake_tools):
    _, rc = fake_tools
    rc.write_text("5")
    db = ServiceController("database", ServiceControl(kind="systemd", unit="mariadb.service"))
    with pytest.raises(RunbookError, match=r"database service: stop failed \(exit 5\)"):
        db.stop()


def test_commands_run_the_argument_lists_without_a_shell(tmp_path):
    marker = tmp_path / "state with space; rm -rf x"
    script = [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])", str(marker)]
    svc = ServiceController("database", ServiceControl(
        kind="commands", stop=[*script, "stopped"], start=[*script, "started"],
        status=[sys.executable, "-c", f"import sys; sys.exit(0 if open({str(marker)!r}).read() == 'started' else 3)"]))
    svc.stop()
    assert marker.read_text() == "stopped" and svc.is_active() is False
    svc.start()
    assert marker.read_text() == "started" and svc.is_active() is True
    assert (tmp_path / "x").exists() is False


def test_commands_error_output_and_timeout_are_reported(tmp_path):
    failing = ServiceController("api", ServiceControl(
        kind="commands", stop=[sys.executable, "-c", "import sys; sys.stderr.write('unit busy\\n'); sys.exit(2)"],
        start=["true"]))
    with pytest.raises(RunbookError, match="api service: stop failed \\(exit 2\\): unit busy"):
        failing.stop()
    slow = ServiceController("api", ServiceControl(
        kind="commands", stop=[sys.executable, "-c", "import time; time.sleep(5)"], start=["true"], timeout=0.5))
    with pytest.raises(RunbookError, match="did not finish within"):
        slow.stop()
    missing = ServiceController("api", ServiceControl(kind="commands", stop=[str(tmp_path / "nope")], start=["true"]))
    with pytest.raises(RunbookError, match="cannot run"):
        missing.stop()


def test_none_refuses_to_act_and_cannot_tell_its_state():
    svc = ServiceController("database", ServiceControl())
    assert not svc.controllable and svc.is_active() is None
    with pytest.raises(RunbookError, match="recovery.database_service.kind is none"):
        svc.stop()


@pytest.mark.parametrize("fields, message", [
    ({"kind": "systemd"}, "needs unit"),
    ({"kind": "docker"}, "needs container"),
    ({"kind": "commands", "stop": ["x"]}, "needs both stop and start"),
    ({"kind": "none", "health": {"kind": "http"}}, "needs url"),
    ({"kind": "none", "health": {"kind": "tcp"}}, "needs port"),
])
def test_incomplete_controls_are_plan_errors(fields, message):
    with pytest.raises(ValidationError, match=message):
        ServiceControl(**fields)


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_http_probe_wants_the_expected_status(http_server):
    url = f"http://127.0.0.1:{http_server.server_address[1]}/health"
    _Handler.status = 503
    assert "answered 503" in (http_once(url, [200], 2)() or "")
    _Handler.status = 200
    assert http_once(url, [200], 2)() is None
    http_server.shutdown()
    http_server.server_close()
    assert http_once(url, [200], 1)() is not None


def test_tcp_probe_and_waiting_until_down():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    probe = tcp_once("127.0.0.1", port, 1)
    assert probe() is None
    now = [0.0]
    assert wait_down(probe, 2, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s)) is False
    listener.close()
    assert probe() is not None and wait_down(probe, 5) is True


def test_wait_healthy_gives_up_at_the_deadline_with_the_last_reason():
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    answers = iter(["starting", "starting", None])
    assert wait_healthy(lambda: next(answers), 10, clock=lambda: now[0], sleep=advance) is None
    assert wait_healthy(lambda: "refused", 2, clock=lambda: now[0], sleep=advance) == "refused"


def test_probe_descriptions_name_the_target():
    db = Database(host="127.0.0.1", port=3307, user="opsplan")
    assert "127.0.0.1:3307 as opsplan" in describe_probe(HealthProbe(kind="sql"), db)
    assert "GET http://x/health" in describe_probe(HealthProbe(kind="http", url="http://x/health"), db)
    assert probe_for(HealthProbe(), db, {}) is None


def test_sql_probe_says_why_it_cannot_log_in(tmp_path):
    db = Database(socket=tmp_path / "none.sock", user="opsplan", password_env=None)
    reason = probe_for(HealthProbe(kind="sql"), db, {})()  # type: ignore[misc]
    assert reason and "unreachable" in reason and str(Path(tmp_path / "none.sock")) in reason


def test_plan_checks_name_the_line_of_a_scratch_dir_inside_the_datadir(tmp_path):
    import yaml_writer
    from opsplan.errors import PlanError
    from opsplan.stages.all import load_plan

    path = yaml_writer.write_plan(tmp_path, {
        "database": {"datadir": str(tmp_path / "mysql")},
        "recovery": {"scratch_dir": str(tmp_path / "mysql" / "scratch"),
                     "database_service": {"kind": "docker", "container": "mariadb"}}})
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert "recovery.scratch_dir" in str(caught.value) and "inside the database datadir" in str(caught.value)
    assert f"{path}:" in str(caught.value)
