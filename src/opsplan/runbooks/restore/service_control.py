"""Stop, start and probe the services a restore touches, as the plan's `recovery.*_service` says.

A controller is a systemd unit (`systemctl stop|start|is-active UNIT`), a Docker container
(`docker stop|start NAME`, `docker inspect` for the state), or a pair of argument lists the
operator wrote (no shell). `describe_*` return the exact argument lists, for `--dry-run`.
Health probes wait until an HTTP status, a TCP connect or a database login succeeds.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from opsplan.errors import RunbookError, said
from opsplan.plan.models import Database, HealthProbe, ServiceControl

Runner = Callable[..., subprocess.CompletedProcess[str]]
# A failed stop or start, by what was asked (literal catalogue keys, so the catalogue test sees them).
_FAILED_KEY = {"stop": "reason.service_stop_failed", "start": "reason.service_start_failed"}


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


@dataclass
class ServiceController:
    """One service as the plan names it; `name` is what reports call it ("database", "api")."""

    name: str
    control: ServiceControl
    runner: Runner = subprocess.run
    _resolved: dict[str, str] = field(default_factory=dict)

    @property
    def controllable(self) -> bool:
        return self.control.kind != "none"

    def _tool(self, name: str) -> str:
        # The path is resolved late, so a dry run still prints the commands on a machine without them.
        return shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/bin:/sbin") or name

    def stop_args(self) -> list[str]:
        c = self.control
        if c.kind == "systemd":
            return [self._tool("systemctl"), "stop", str(c.unit)]
        if c.kind == "docker":
            return [self._tool("docker"), "stop", str(c.container)]
        return list(c.stop)

    def start_args(self) -> list[str]:
        c = self.control
        if c.kind == "systemd":
            return [self._tool("systemctl"), "start", str(c.unit)]
        if c.kind == "docker":
            return [self._tool("docker"), "start", str(c.container)]
        return list(c.start)

    def status_args(self) -> list[str]:
        c = self.control
        if c.kind == "systemd":
            return [self._tool("systemctl"), "is-active", "--quiet", str(c.unit)]
        if c.kind == "docker":
            return [self._tool("docker"), "inspect", "--format", "{{.State.Running}}", str(c.container)]
        return list(c.status)

    def stop(self) -> str:
        return self._run("stop", self.stop_args())

    def start(self) -> str:
        return self._run("start", self.start_args())

    def is_active(self) -> bool | None:
        """True/False from the controller's own status; None when it has no way to tell."""
        args = self.status_args()
        if not self.controllable or not args:
            return None
        res = self._call(args)
        if self.control.kind == "docker":
            return res.returncode == 0 and res.stdout.strip() == "true"
        return res.returncode == 0

    def _run(self, what: str, args: list[str]) -> str:
        if not self.controllable:
            raise RunbookError(f"{self.name} service: the plan names no way to {what} it "
                               f"(recovery.{self.name}_service.kind is none)")
        res = self._call(args)
        if res.returncode != 0:
            # the tool's own words go on their own line in Korean (KOREAN.md rule 6)
            raise said(RunbookError, _FAILED_KEY[what], service=self.name, code=res.returncode,
                       detail=_first_line(res.stderr or res.stdout))
        return f"{self.name} service: {what} ok"

    def _call(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return self.runner(args, capture_output=True, text=True, timeout=self.control.timeout,
                               check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise said(RunbookError, "reason.service_timeout", service=self.name, command=args[0],
                       timeout=f"{self.control.timeout:.0f}") from None
        except OSError as exc:
            raise RunbookError(f"{self.name} service: cannot run {args[0]}: {exc.strerror or exc}") from None


# --- health probes -------------------------------------------------------------------------------

ProbeOnce = Callable[[], str | None]  # None = healthy, else why not


def http_once(url: str, expect: list[int], timeout: float) -> ProbeOnce:
    def probe() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - the plan's own URL
                status = int(resp.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"{url}: {reason}"
        return None if status in expect else f"{url} answered {status}, expected {expect}"
    return probe


def tcp_once(host: str, port: int, timeout: float) -> ProbeOnce:
    def probe() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return None
        except OSError as exc:
            return f"{host}:{port}: {exc.strerror or exc}"
    return probe


def sql_once(db: Database, environ: Mapping[str, str]) -> ProbeOnce:
    """A login as the plan's database user (the password from its env variable or 0600 file)."""
    from opsplan.backup.database.server import connect
    from opsplan.errors import OpsplanError
    from opsplan.plan.secrets import read_database_password

    def probe() -> str | None:
        try:
            connect(db, read_database_password(db, environ)).close()
        except OpsplanError as exc:
            return str(exc)
        return None
    return probe


def probe_for(health: HealthProbe, db: Database, environ: Mapping[str, str]) -> ProbeOnce | None:
    if health.kind == "http":
        return http_once(str(health.url), health.expect_status, min(10.0, health.wait))
    if health.kind == "tcp":
        return tcp_once(health.host, int(health.port or 0), min(10.0, health.wait))
    if health.kind == "sql":
        return sql_once(db, environ)
    return None


def describe_probe(health: HealthProbe, db: Database) -> str:
    if health.kind == "http":
        return f"GET {health.url} until it answers {health.expect_status} (up to {health.wait:.0f}s)"
    if health.kind == "tcp":
        return f"TCP connect {health.host}:{health.port} (up to {health.wait:.0f}s)"
    if health.kind == "sql":
        where = db.socket or f"{db.host}:{db.port}"
        return f"log in to {where} as {db.user} (up to {health.wait:.0f}s)"
    return "no health probe"


def wait_healthy(
    probe: ProbeOnce,
    wait: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 0.5,
) -> str | None:
    """Probe until healthy (None) or `wait` seconds passed; returns the last reason on failure."""
    deadline = clock() + wait
    while True:
        reason = probe()
        if reason is None or clock() >= deadline:
            return reason
        sleep(interval)


def wait_down(
    probe: ProbeOnce,
    wait: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 0.5,
) -> bool:
    """True once the probe fails (the service no longer answers) within `wait` seconds."""
    deadline = clock() + wait
    while True:
        if probe() is not None:
            return True
        if clock() >= deadline:
            return False
        sleep(interval)
