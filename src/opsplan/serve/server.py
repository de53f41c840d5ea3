"""Wires plan, collectors, store, loop and web app together and runs them until SIGTERM/Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from email.utils import formatdate
from pathlib import Path
from types import FrameType

import uvicorn

from opsplan.alerts.engine import AlertEngine
from opsplan.collectors.runner import CollectionRunner
from opsplan.errors import OpsplanError
from opsplan.metrics.exposition import LatestSamples
from opsplan.plan.models import Plan
from opsplan.serve.bind_rule import check_bind, plan_has_users
from opsplan.serve.lease import Lease
from opsplan.serve.loop import CollectionLoop
from opsplan.serve.scheduler import Scheduler
from opsplan.serve.supervisor import supervise
from opsplan.stages.all import compose, metric_registry
from opsplan.stages.part import Worker
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from opsplan.web.app import ServeState, create_app
from opsplan.web.console.frame import Console
from opsplan.web.hosts import allowed_hosts

log = logging.getLogger("opsplan.serve")


class _Server(uvicorn.Server):
    """uvicorn as `serve` runs it: it sleeps until asked to stop, and keeps SIGTERM for itself.

    uvicorn's own main loop wakes ten times a second to check its exit flag and refresh the Date
    header: most of an idle `serve`'s CPU. Here the loop waits on an event the signal handler sets,
    and the Date header is added per response (`DateHeader`)."""

    _exit: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        await self.on_tick(0)  # uvicorn's default headers (none: the Date header is DateHeader's)
        if not self.should_exit:
            await self._exit.wait()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._exit is not None:
            self._loop.call_soon_threadsafe(self._exit.set)

    # uvicorn re-raises SIGTERM after its shutdown, which would kill us before the store is closed.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        wanted = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in wanted}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class DateHeader:
    """ASGI wrapper: a Date header on every response (RFC 9110 asks an origin server with a clock
    for one), formatted at most once a second, without a timer."""

    def __init__(self, app: Callable[..., object], clock: Callable[[], float] = time.time):
        self.app = app
        self.clock = clock
        self._second = -1
        self._value = b""

    def date(self) -> bytes:
        now = int(self.clock())
        if now != self._second:
            self._value = formatdate(now, usegmt=True).encode()
            self._second = now
        return self._value

    async def __call__(self, scope: dict, receive: Callable[..., object], send: Callable[..., object]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[misc]
            return

        async def send_with_date(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"date", self.date())]
            await send(message)  # type: ignore[misc]

        await self.app(scope, receive, send_with_date)  # type: ignore[misc]


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OpsplanError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def open_store(plan: Plan) -> MetricsStore:
    directory = Path(plan.data_dir) / "metrics"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(PermissionError):  # what opsplan keeps there is for its user only
            os.chmod(plan.data_dir, 0o700)
    except OSError as exc:
        raise OpsplanError(f"cannot create the data directory {directory}: {exc.strerror or exc}") from None
    settings = plan.monitoring.store
    return MetricsStore(directory, raw_retention_s=settings.raw_retention,
                        rollup_step_s=int(settings.rollup_step), rollup_retention_s=settings.rollup_retention)


def serve(plan: Plan, *, host: str | None = None, port: int | None = None,
          environ: Mapping[str, str] = os.environ, announce: Callable[[str], None] = print,
          warn: Callable[[str], None] = print) -> None:
    host = host or plan.web.bind
    port = plan.web.port if port is None else port
    check_bind(plan, host, lambda: plan_has_users(plan, environ))
    sock = bind_socket(host, port)
    store = open_store(plan)
    leases: list[Lease] = []

    def lease_on(state_db: StateDB) -> Lease:
        leases.append(Lease(state_db, plan.server.name, interval=plan.monitoring.interval))
        return leases[0]

    try:
        parts = compose(plan, environ, lease=lease_on)
    except BaseException:
        store.close()
        sock.close()
        raise
    # The store takes one process at a time: the periodic checks' jobs read this one (stages/checks.py).
    parts.context.provide(store)
    runner = CollectionRunner(parts.collectors, rollups=parts.rollups,
                              deadline=max(1.0, plan.monitoring.interval * 0.8))
    latest = LatestSamples(metric_registry())
    lock = threading.Lock()
    persistence = parts.context.state_db.health
    loop = CollectionLoop(runner, store, latest, interval=plan.monitoring.interval, store_lock=lock,
                          after_cycle=parts.on_cycle, persistence=persistence)
    active = parts.context.active
    scheduler = Scheduler(parts.jobs, timezone=plan.timezone, active=active.is_active)
    parts.context.job_control.bind(scheduler)
    lease = leases[0] if leases else None
    workers = parts.workers
    if lease is not None:  # the stages' catch-up, then the missed jobs, each time this serve takes over
        lease.on_active(parts.become_active)
        lease.on_active(scheduler.catch_up)
        workers = [Worker("lease", "opsplan-lease", lease.run, lease.request_stop), *workers]
    # Every long-running thread, restarted if it dies; /healthz reads its report.
    supervisor = supervise(loop, scheduler, workers)
    app = create_app(ServeState(plan=plan, latest=latest, loop=loop, store=store, store_lock=lock,
                                state_db=parts.context.state_db,
                                alerts=parts.context.get(AlertEngine), persistence=persistence,
                                threads=supervisor, console=parts.context.get(Console),
                                role=lease.role if lease is not None else None),
                     routers=parts.routers, hosts=allowed_hosts(host, plan.web.public_url))
    tls = plan.web.tls_cert_file is not None and plan.web.tls_key_file is not None
    config = uvicorn.Config(DateHeader(app), log_config=None, access_log=False, timeout_graceful_shutdown=2,
                            lifespan="off", server_header=False, date_header=False,
                            ssl_certfile=str(plan.web.tls_cert_file) if tls else None,
                            ssl_keyfile=str(plan.web.tls_key_file) if tls else None)
    server = _Server(config)
    bound_host, bound_port = sock.getsockname()[:2]
    url = f"{'https' if tls else 'http'}://{'[' + bound_host + ']' if ':' in bound_host else bound_host}:{bound_port}/"
    if parts.degraded:
        warn(parts.degraded)
        log.error("started in %s", parts.degraded)
    parts.start()
    if lease is not None:
        lease.try_once()  # active at once when alone: the jobs' catch-up and the first cycle act
    supervisor.start()
    announce(url)
    log.info("serving on %s", url)
    try:
        server.run(sockets=[sock])
    finally:
        supervisor.stop()  # the scheduler, the loop, then the stages' workers
        if lease is not None:
            lease.release()
        parts.stop()
        runner.close()
        with lock:
            store.close()
        sock.close()
        log.info("stopped")
