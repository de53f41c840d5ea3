"""Docker containers (the seed's unit of virtualisation): state, health and restarts from the
Docker Engine API on its unix socket, CPU and memory from each container's cgroup.

Names, state and health come from the engine's list (`GET /containers/json?all=1`; health is in
its `Status`, "Up 5 minutes (unhealthy)", as `docker ps` shows it) every cycle;
`GET /containers/{id}/json` (`RestartCount`, `HostConfig.CgroupParent`) once for a new container,
then at most every minute, and at once when the container's CPU counter drops (a restart makes a
new cgroup). Figures come from the cgroup the container runs in, found by its id:
`system.slice/docker-<id>.scope` (systemd cgroup driver), `docker/<id>` (cgroupfs driver), or
under the container's own `CgroupParent`. Containers that
a group names are reported with that group; with `monitoring.docker.enabled` every other
container is reported too, with an empty group. A socket that is missing or answers something
other than the Engine API makes this collector down with one reason; nothing else degrades.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from opsplan.collectors.cgroupfs import CgroupFs, slice_path
from opsplan.errors import CollectorError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample
from opsplan.plan.models import Plan

METRICS: dict[str, MetricSpec] = {
    "opsplan_container_up": gauge("1 when the container is running, 0 when it is stopped or missing",
                                  "container", "group"),
    "opsplan_container_healthy": gauge("1 when the container's health check passes, 0 when it fails; "
                                       "absent without a health check or while it is starting",
                                       "container", "group"),
    "opsplan_container_restarts_total": counter("Times Docker restarted the container (RestartCount)",
                                                "container", "group"),
    "opsplan_container_memory_used_bytes": gauge("Memory used by the container's cgroup", "container", "group",
                                                 unit="bytes"),
    "opsplan_container_memory_limit_bytes": gauge("The container's memory limit; absent when unlimited",
                                                  "container", "group", unit="bytes"),
    "opsplan_container_cpu_seconds_total": counter("CPU time used by the container's cgroup since it started",
                                                   "container", "group", unit="seconds"),
}

CONTAINER_ID = re.compile(r"[0-9a-f]{12,64}")
HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy)\)")
# Restart counts and cgroup parents are re-read at most this often (and at once after a restart).
INSPECT_INTERVAL = 60.0
CGROUP_PARENT = re.compile(r"/?[A-Za-z0-9:_.@/-]*")
API_BASE = "http://docker"


class EngineApi:
    """The few Engine API calls opsplan makes, over the unix socket."""

    def __init__(self, socket: Path, timeout: float) -> None:
        self.socket = socket
        self._client = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)), base_url=API_BASE,
                                    timeout=timeout)

    def get(self, path: str) -> Any:
        response = self._client.get(path, headers={"User-Agent": "opsplan"})
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._client.close()


def _name(entry: dict[str, Any]) -> str | None:
    names = entry.get("Names")
    if isinstance(names, list) and names and isinstance(names[0], str):
        return names[0].lstrip("/")
    return None


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _container_list(answer: object, socket: Path) -> list[dict[str, Any]]:
    if not isinstance(answer, list) or not all(
            isinstance(c, dict) and isinstance(c.get("Id"), str) and CONTAINER_ID.fullmatch(c["Id"])
            for c in answer):
        raise CollectorError(f"the Docker Engine API at {socket} answered with something that is not a "
                             "container list")
    return answer


def cgroup_candidates(container_id: str, cgroup_parent: str) -> list[str]:
    """Where Docker puts a container's cgroup, most likely first."""
    parent = cgroup_parent.strip("/") if CGROUP_PARENT.fullmatch(cgroup_parent) and \
        ".." not in cgroup_parent.split("/") else ""
    scope = f"docker-{container_id}.scope"
    if parent.endswith(".slice") and "/" not in parent:
        return [f"{slice_path(parent)}/{scope}", f"{parent}/{container_id}"]
    if parent:
        return [f"{parent}/{container_id}", f"{parent}/{scope}"]
    return [f"system.slice/{scope}", f"docker/{container_id}"]


@dataclass(slots=True)
class _Inspected:
    """What only `GET /containers/{id}/json` tells, kept between cycles (one request a cycle for
    the list is cheap; one more per container is most of this collector's cost)."""

    at: float
    restarts: int | None
    cgroup_parent: str
    cpu_seconds: float | None = None  # the last reading: a drop means a new cgroup, so a restart


def _health(entry: dict[str, Any]) -> str | None:
    """`healthy` / `unhealthy` from the list's Status ("Up 5 minutes (unhealthy)"), as `docker ps` shows it."""
    status = entry.get("Status")
    match = HEALTH_IN_STATUS.search(status) if isinstance(status, str) else None
    return match.group(1) if match else None


class ContainersCollector:
    name = "containers"

    def __init__(self, plan: Plan, fs: CgroupFs | None = None, api: EngineApi | None = None, *,
                 clock: Callable[[], float] = time.monotonic, inspect_interval: float = INSPECT_INTERVAL) -> None:
        docker = plan.monitoring.docker
        self._socket = docker.socket
        self._all = docker.enabled
        self._fs = fs or CgroupFs()
        self._api = api or EngineApi(docker.socket, docker.timeout)
        self._clock = clock
        self._inspect_interval = inspect_interval
        self._inspected: dict[str, _Inspected] = {}
        self._groups = {m.label: g.id for g in plan.allocation for m in g.members if m.container is not None}

    def close(self) -> None:
        self._api.close()

    def collect(self) -> list[Sample]:
        if not self._socket.exists():
            raise CollectorError(f"the Docker socket {self._socket} does not exist (is Docker installed?)")
        if not os.access(self._socket, os.R_OK | os.W_OK):
            raise CollectorError(f"no permission to use the Docker socket {self._socket} "
                                 "(add opsplan's user to the docker group)")
        try:
            containers = _container_list(self._api.get("/containers/json?all=1"), self._socket)
        except httpx.HTTPStatusError as exc:
            raise CollectorError(f"the Docker Engine API at {self._socket} answered HTTP "
                                 f"{exc.response.status_code}") from None
        except (httpx.HTTPError, ValueError) as exc:
            # ValueError: the answer was not JSON at all.
            raise CollectorError(f"the Docker Engine API at {self._socket} cannot be read: "
                                 f"{type(exc).__name__}") from None
        out: list[Sample] = []
        seen: set[str] = set()
        listed_ids = set()
        for entry in containers:
            name = _name(entry)
            if name is None or (name not in self._groups and not self._all):
                continue
            seen.add(name)
            listed_ids.add(entry["Id"])
            out += self._one(entry, name, self._groups.get(name, ""))
        for gone in set(self._inspected) - listed_ids:
            del self._inspected[gone]
        for name, group in self._groups.items():
            if name not in seen:  # named in the plan, not on this host: not running
                out.append(sample("opsplan_container_up", 0, container=name, group=group))
        return out

    def _inspect(self, container_id: str, now: float) -> _Inspected:
        try:
            details = _mapping(self._api.get(f"/containers/{container_id}/json"))
        except (httpx.HTTPError, ValueError):
            details = {}  # removed since the list, or one odd answer: report what the list says
        restarts = details.get("RestartCount")
        parent = _mapping(details.get("HostConfig")).get("CgroupParent")
        inspected = _Inspected(now, restarts if isinstance(restarts, int) and not isinstance(restarts, bool) else None,
                               parent if isinstance(parent, str) else "")
        self._inspected[container_id] = inspected
        return inspected

    def _one(self, entry: dict[str, Any], name: str, group: str) -> list[Sample]:
        labels = {"container": name, "group": group}
        container_id: str = entry["Id"]
        now = self._clock()
        inspected = self._inspected.get(container_id)
        if inspected is None or now - inspected.at >= self._inspect_interval or now < inspected.at:
            inspected = self._inspect(container_id, now)
        running = entry.get("State") == "running"
        out = [sample("opsplan_container_up", 1 if running else 0, **labels)]
        health = _health(entry)
        if health is not None:
            out.append(sample("opsplan_container_healthy", 1 if health == "healthy" else 0, **labels))
        figures = None
        if running:
            for path in cgroup_candidates(container_id, inspected.cgroup_parent):
                figures = self._fs.read(path)
                if figures is not None:
                    break
        if figures is not None and figures.cpu_seconds is not None:
            last = inspected.cpu_seconds
            if last is not None and figures.cpu_seconds < last and inspected.at < now:
                inspected = self._inspect(container_id, now)  # restarted: its count is news now
            inspected.cpu_seconds = figures.cpu_seconds
        if inspected.restarts is not None:
            out.append(sample("opsplan_container_restarts_total", inspected.restarts, **labels))
        if figures is None:
            return out
        if figures.memory_bytes is not None:
            out.append(sample("opsplan_container_memory_used_bytes", figures.memory_bytes, **labels))
        if figures.memory_limit_bytes is not None:
            out.append(sample("opsplan_container_memory_limit_bytes", figures.memory_limit_bytes, **labels))
        if figures.cpu_seconds is not None:
            out.append(sample("opsplan_container_cpu_seconds_total", figures.cpu_seconds, **labels))
        return out
