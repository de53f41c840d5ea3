"""Group memory against its budget, measured on real cgroups holding processes the test starts;
Docker containers through a stand-in Engine API on a unix socket (no Docker engine runs on the
build machines), whose container ids name real cgroups the test made."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from cgroup_sandbox import CgroupSandbox
from http_stubs import DockerEngine
from opsplan.collectors.build import member_collectors
from opsplan.collectors.cgroupfs import CgroupFs
from opsplan.collectors.docker import ContainersCollector
from opsplan.collectors.members import MembersCollector, memory_rollup
from opsplan.collectors.runner import CollectionRunner
from opsplan.metrics import Sample
from opsplan.plan.models import AllocationGroup, Docker, GroupMember, Plan, Text

MB = 1024 * 1024
HELD = 48  # MB each test process holds


@pytest.fixture
def sandbox() -> Iterator[CgroupSandbox]:
    box = CgroupSandbox()
    reason = box.unavailable()
    if reason:
        box.remove()
        pytest.skip(reason)
    try:
        yield box
    finally:
        box.remove()


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [s.value for s in samples if s.name == name and all(s.label(k) == v for k, v in labels.items())]
    assert len(found) <= 1, f"{name} {labels} emitted {len(found)} times"
    return found[0] if found else None


def plan_with(ai: list[GroupMember], app: list[GroupMember], *, socket: Path | None = None) -> Plan:
    groups = [
        AllocationGroup(id="ai", name=Text(ko="AI 시스템", en="AI system"), memory=128 * 10**9,
                        storage=10**12, members=ai),
        AllocationGroup(id="app", name=Text(ko="애플리케이션/DB", en="Application/DB"), memory=10**9,
                        storage=10**12, members=app),
    ]
    plan = Plan(allocation=groups)
    if socket is not None:
        plan.monitoring.docker = Docker(socket=socket, timeout=2)
    return plan


def test_group_memory_is_read_from_the_cgroups_of_its_units_and_paths(sandbox: CgroupSandbox) -> None:
    worker = f"worker{secrets.token_hex(3)}.service"
    sandbox.start(worker, HELD)
    sandbox.start("batch", HELD)
    plan = plan_with(
        ai=[GroupMember(unit=worker)],  # found by searching the tree: it is not in system.slice
        app=[GroupMember(cgroup=f"/{sandbox.slice}/batch"), GroupMember(unit="opsplan-absent-test.service")])
    samples = MembersCollector(plan, CgroupFs()).collect()
    samples += memory_rollup(plan, samples)

    assert value(samples, "opsplan_group_member_up", group="ai", member=worker) == 1
    worker_memory = value(samples, "opsplan_group_member_memory_used_bytes", group="ai", member=worker)
    assert worker_memory is not None and worker_memory >= HELD * MB
    cpu = value(samples, "opsplan_group_member_cpu_seconds_total", group="ai", member=worker)
    assert cpu is not None and cpu > 0
    # A unit that is not running is shown as such, and counts nothing.
    assert value(samples, "opsplan_group_member_up", group="app", member="opsplan-absent-test.service") == 0

    ai_used = value(samples, "opsplan_group_memory_used_bytes", group="ai")
    app_used = value(samples, "opsplan_group_memory_used_bytes", group="app")
    assert ai_used == worker_memory
    assert app_used is not None and app_used >= HELD * MB
    # Use against budget: the app group's 1 GB budget is ~5% used by one 48 MB process.
    ratio = value(samples, "opsplan_group_memory_usage_ratio", group="app")
    assert ratio == pytest.approx(app_used / 10**9)


def test_a_slice_counts_everything_below_it(sandbox: CgroupSandbox) -> None:
    sandbox.start("one", HELD)
    sandbox.start("two", HELD)
    plan = plan_with(ai=[GroupMember(unit=sandbox.slice)], app=[])
    samples = MembersCollector(plan, CgroupFs()).collect()
    used = value(samples, "opsplan_group_member_memory_used_bytes", group="ai", member=sandbox.slice)
    assert used is not None and used >= 2 * HELD * MB


def _container(name: str, parent: str, *, health: str | None, restarts: int, running: bool = True) -> dict:
    state: dict = {"Status": "running" if running else "exited", "Running": running}
    if health is not None:
        state["Health"] = {"Status": health, "FailingStreak": 0 if health == "healthy" else 4}
    return {"Id": secrets.token_hex(32), "Name": f"/{name}", "State": state, "RestartCount": restarts,
            "HostConfig": {"CgroupParent": parent}}


def test_containers_are_reported_with_their_groups_health_restarts_and_figures(
        sandbox: CgroupSandbox, tmp_path: Path) -> None:
    # vllm: systemd cgroup driver under a slice; api: cgroupfs driver under a plain path.
    vllm = _container("vllm", sandbox.slice, health="healthy", restarts=0)
    api = _container("api", f"/{sandbox.slice}/docker", health="unhealthy", restarts=3)
    other = _container("sidecar", "", health=None, restarts=0)
    sandbox.start(f"docker-{vllm['Id']}.scope", HELD)
    sandbox.start(f"docker/{api['Id']}", HELD)
    engine = DockerEngine(tmp_path / "docker.sock", [vllm, api, other])
    plan = plan_with(ai=[GroupMember(container="vllm")],
                     app=[GroupMember(container="api"), GroupMember(container="cache")],
                     socket=tmp_path / "docker.sock")
    collector = ContainersCollector(plan, CgroupFs())
    try:
        samples = collector.collect()
    finally:
        collector.close()
        engine.close()
    samples += memory_rollup(plan, samples)

    assert value(samples, "opsplan_container_up", container="vllm", group="ai") == 1
    assert value(samples, "opsplan_container_up", container="api", group="app") == 1
    assert value(samples, "opsplan_container_healthy", container="vllm", group="ai") == 1
    assert value(samples, "opsplan_container_healthy", container="api", group="app") == 0
    assert value(samples, "opsplan_container_restarts_total", container="api", group="app") == 3
    # Named in the plan, not on this host: shown as not running.
    assert value(samples, "opsplan_container_up", container="cache", group="app") == 0
    # Not in the plan (and monitoring.docker.enabled is off): not reported.
    assert not [s for s in samples if s.label("container") == "sidecar"]
    for name, group in (("vllm", "ai"), ("api", "app")):
        memory = value(samples, "opsplan_container_memory_used_bytes", container=name, group=group)
        assert memory is not None and memory >= HELD * MB
        cpu = value(samples, "opsplan_container_cpu_seconds_total", container=name, group=group)
        assert cpu is not None and cpu > 0
    app_used = value(samples, "opsplan_group_memory_used_bytes", group="app")
    assert app_used == value(samples, "opsplan_container_memory_used_bytes", container="api", group="app")


def test_enabled_docker_reports_every_container(tmp_path: Path) -> None:
    sidecar = _container("sidecar", "", health="starting", restarts=1, running=False)
    engine = DockerEngine(tmp_path / "docker.sock", [sidecar])
    plan = plan_with(ai=[], app=[])
    plan.monitoring.docker = Docker(enabled=True, socket=tmp_path / "docker.sock", timeout=2)
    collector = ContainersCollector(plan, CgroupFs(tmp_path / "no-cgroups"))
    try:
        samples = collector.collect()
    finally:
        collector.close()
        engine.close()
    assert value(samples, "opsplan_container_up", container="sidecar", group="") == 0
    assert value(samples, "opsplan_container_restarts_total", container="sidecar", group="") == 1
    assert value(samples, "opsplan_container_healthy", container="sidecar", group="") is None


@pytest.mark.parametrize("answer", [b"<html>not docker</html>", b'{"message": "page not found"}',
                                    b'[{"Id": "../../etc"}]'])
def test_an_engine_answering_garbage_degrades_only_the_containers_collector(
        tmp_path: Path, answer: bytes, caplog: pytest.LogCaptureFixture) -> None:
    engine = DockerEngine(tmp_path / "docker.sock", [])
    engine.garbage = answer
    plan = plan_with(ai=[GroupMember(container="vllm")], app=[GroupMember(cgroup="/opsplan-absent-test")],
                     socket=tmp_path / "docker.sock")
    runner = CollectionRunner(member_collectors(plan), rollups=[lambda s: memory_rollup(plan, s)])
    try:
        with caplog.at_level(logging.WARNING, logger="opsplan.collectors"):
            first = runner.run_once()
            second = runner.run_once()
    finally:
        runner.close()
        engine.close()
    for cycle in (first, second):
        assert value(cycle.samples, "opsplan_collector_up", collector="containers") == 0
        assert not [s for s in cycle.samples if s.name.startswith("opsplan_container_")]
        # The app group, whose member is no container, is still measured (its cgroup is absent: 0);
        # the ai group, whose container could not be read, is unknown rather than 0.
        assert value(cycle.samples, "opsplan_collector_up", collector="groups") == 1
        assert value(cycle.samples, "opsplan_group_memory_used_bytes", group="app") == 0
        assert value(cycle.samples, "opsplan_group_memory_used_bytes", group="ai") is None
    down = [r.getMessage() for r in caplog.records if "containers" in r.getMessage()]
    assert len(down) == 1, down  # one line, not one per cycle
    assert "Docker Engine API" in down[0] and str(tmp_path / "docker.sock") in down[0]


def test_a_missing_socket_says_so(tmp_path: Path) -> None:
    plan = plan_with(ai=[GroupMember(container="vllm")], app=[], socket=tmp_path / "absent.sock")
    runner = CollectionRunner(member_collectors(plan), rollups=[lambda s: memory_rollup(plan, s)])
    try:
        cycle = runner.run_once()
    finally:
        runner.close()
    assert value(cycle.samples, "opsplan_collector_up", collector="containers") == 0
    status = next(s for s in cycle.statuses if s.name == "containers")
    assert "does not exist" in status.reason and "absent.sock" in status.reason
    # The group's memory is unknown, not 0: its only member could not be read.
    assert value(cycle.samples, "opsplan_group_memory_used_bytes", group="ai") is None


def _write_cgroup(directory: Path, memory: int, cpu_usec: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "memory.current").write_text(f"{memory}\n")
    (directory / "memory.max").write_text("max\n")
    (directory / "cpu.stat").write_text(f"usage_usec {cpu_usec}\nuser_usec {cpu_usec}\nsystem_usec 0\n")


def test_restart_counts_are_reread_each_minute_and_at_once_after_a_restart(tmp_path: Path) -> None:
    # A cgroup v2 tree as files (the layout of a Docker host with the systemd cgroup driver).
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpu memory\n")
    vllm = _container("vllm", "", health="healthy", restarts=0)
    scope = root / "system.slice" / f"docker-{vllm['Id']}.scope"
    _write_cgroup(scope, 5 * MB, 9_000_000)
    engine = DockerEngine(tmp_path / "docker.sock", [vllm])
    now = [1000.0]
    plan = plan_with(ai=[GroupMember(container="vllm")], app=[], socket=tmp_path / "docker.sock")
    collector = ContainersCollector(plan, CgroupFs(root), clock=lambda: now[0])
    inspect = f"/containers/{vllm['Id']}/json"
    try:
        samples = collector.collect()
        assert value(samples, "opsplan_container_memory_used_bytes", container="vllm", group="ai") == 5 * MB
        assert value(samples, "opsplan_container_cpu_seconds_total", container="vllm", group="ai") == 9.0
        assert value(samples, "opsplan_container_restarts_total", container="vllm", group="ai") == 0

        # Health is read from the list every cycle; the inspect call is not repeated within a minute.
        vllm["State"]["Health"]["Status"] = "unhealthy"
        vllm["RestartCount"] = 1
        now[0] += 30
        samples = collector.collect()
        assert value(samples, "opsplan_container_healthy", container="vllm", group="ai") == 0
        assert value(samples, "opsplan_container_restarts_total", container="vllm", group="ai") == 0
        assert engine.requests.count(inspect) == 1

        now[0] += 30
        samples = collector.collect()
        assert value(samples, "opsplan_container_restarts_total", container="vllm", group="ai") == 1
        assert engine.requests.count(inspect) == 2

        # Docker restarts it: a new cgroup, its CPU counter starts again; the count is read at once.
        vllm["RestartCount"] = 2
        _write_cgroup(scope, 4 * MB, 100_000)
        now[0] += 5
        samples = collector.collect()
        assert value(samples, "opsplan_container_restarts_total", container="vllm", group="ai") == 2
        assert value(samples, "opsplan_container_cpu_seconds_total", container="vllm", group="ai") == 0.1
    finally:
        collector.close()
        engine.close()


def test_a_socket_that_does_not_speak_http_degrades_to_a_reason(tmp_path: Path) -> None:
    import socket as socketlib
    import threading

    path = tmp_path / "docker.sock"
    server = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    stop = threading.Event()

    def babble() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x00\xffnot http at all\r\n\r\n")

    threading.Thread(target=babble, daemon=True).start()
    plan = plan_with(ai=[GroupMember(container="vllm")], app=[], socket=path)
    runner = CollectionRunner(member_collectors(plan))
    try:
        cycle = runner.run_once()
    finally:
        runner.close()
        stop.set()
        server.close()
    assert value(cycle.samples, "opsplan_collector_up", collector="containers") == 0
    status = next(s for s in cycle.statuses if s.name == "containers")
    assert "Docker Engine API" in status.reason and "cannot be read" in status.reason
