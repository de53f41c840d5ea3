"""Every stage, in the order `serve` builds them and runs their cycle hooks; and what is derived
from the list (the metric registry, the plan checks, the composed parts)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opsplan.collectors.base import Collector
from opsplan.collectors.runner import Rollup
from opsplan.jobs import Job
from opsplan.metrics import Cycle, MetricRegistry
from opsplan.plan import loader
from opsplan.plan.models import Plan
from opsplan.plan.semantic import PlanCheck
from opsplan.stages import alerting, backup, checks, collection, console, identity, incidents, notify, oncall, recovery
from opsplan.stages import lease as lease_stage
from opsplan.stages.part import ActiveControl, Role, Stage, StageContext, StagePart, Worker
from opsplan.store.health import Persistence, disk_full
from opsplan.store.reserve import DiskReserve
from opsplan.store.state import StateDB, state_url

if TYPE_CHECKING:  # the web framework loads with `serve`, not with every command that reads the plan
    from fastapi import APIRouter

log = logging.getLogger("opsplan.serve")

# Order matters once: alert rules see a cycle before notification metrics are added to it.
STAGES: tuple[Stage, ...] = (
    collection.STAGE,
    lease_stage.STAGE,  # its role gauge in every serve, active or standby
    identity.STAGE,  # before the stages with write routes: they take its session check
    console.STAGE,  # before the stages with pages: they add them to its frame
    alerting.STAGE,
    notify.STAGE,
    incidents.STAGE,  # after alerting: a sink of its notices; its cycle hook sees the cycle's incidents
    oncall.STAGE,  # after incidents and notify: pages the cycle's incidents through the outbox
    backup.STAGE,
    recovery.STAGE,
    checks.STAGE,
)
# What `serve` runs when the state database cannot be opened at start (a full disk): monitoring only.
# The on-call stage's heartbeat runs there too (serve is alive and watching); its paging needs the incidents.
MONITORING_ONLY = ("collection", "lease", "console", "alerting", "notify", "oncall")
# The stages whose cycle hooks and threads act for the plan (evaluate alerts and send, open incidents,
# page, deliver, beat the dead-man's switch): they run only in the serve holding the plan's lease. A
# standby still collects, stores and serves reads; the scheduler runs jobs only in the active one.
ACTIVE_STAGES = ("alerting", "notify", "incidents", "oncall")


def metric_registry(stages: Sequence[Stage] = STAGES) -> MetricRegistry:
    """Every metric family opsplan exports, each under the stage that emits it."""
    registry = MetricRegistry()
    for stage in stages:
        registry.add(stage.name, stage.families())
    return registry


def plan_checks(stages: Sequence[Stage] = STAGES) -> list[PlanCheck]:
    return [check for stage in stages for check in stage.plan_checks]


def load_plan(path: Path, *, strict: bool = False) -> Plan:
    """The plan at `path`, checked by the plan itself and by every stage that reads it."""
    return loader.load_plan(path, strict=strict, checks=plan_checks(), families=metric_registry())


def parse_plan(text: str, name: str = "opsplan.yaml", *, strict: bool = False,
               environ: Mapping[str, str] | None = None) -> Plan:
    return loader.parse_plan(text, name, strict=strict, environ=environ, checks=plan_checks(),
                             families=metric_registry())


@dataclass
class Composition:
    """The built stages of one `serve`: what the loop, the scheduler and the web app are given."""

    context: StageContext
    parts: list[tuple[str, StagePart]] = field(default_factory=list)
    # Why only MONITORING_ONLY stages run (the state database could not be opened), else None.
    degraded: str | None = None

    @property
    def collectors(self) -> list[Collector]:
        return [c for _, part in self.parts for c in part.collectors]

    @property
    def rollups(self) -> list[Rollup]:
        return [r for _, part in self.parts for r in part.rollups]

    @property
    def on_cycle(self) -> list[Callable[[Cycle], None]]:
        active = self.context.active
        hooks = [_only_active(h, active) if name in ACTIVE_STAGES else h
                 for name, part in self.parts for h in part.on_cycle]
        return hooks + [_only_standby(h, active) for _, part in self.parts for h in part.on_standby_cycle]

    @property
    def jobs(self) -> list[Job]:
        return [j for _, part in self.parts for j in part.jobs]

    @property
    def workers(self) -> list[Worker]:
        active = self.context.active
        return [_AfterTakeover(w, active).worker() if name in ACTIVE_STAGES else w
                for name, part in self.parts for w in part.workers]

    def become_active(self) -> None:
        """This serve took the plan's lease: each stage reads what the last holder left first."""
        for name, part in self.parts:
            for hook in part.on_active:
                try:
                    hook()
                except Exception:  # noqa: BLE001 - one stage's catch-up must not keep the others from acting
                    log.exception("stage %s: taking over failed (%s)", name, getattr(hook, "__qualname__", hook))

    @property
    def routers(self) -> list[APIRouter]:
        return [r for _, part in self.parts for r in part.routers]

    def start(self) -> None:
        for _, part in self.parts:
            for start in part.start:
                start()

    def stop(self) -> None:
        # Newest stage first, so nothing is stopped while a later stage still feeds it.
        for name, part in reversed(self.parts):
            for stop in part.stop:
                try:
                    stop()
                except Exception:  # noqa: BLE001 - stopping one part must not keep the others running
                    log.exception("stopping stage %s failed (%s)", name, getattr(stop, "__qualname__", stop))
        self.context.state_db.close()


def _only_active(hook: Callable[[Cycle], None], active: ActiveControl) -> Callable[[Cycle], None]:
    def hook_if_active(cycle: Cycle) -> None:
        if active.is_active():
            hook(cycle)

    hook_if_active.__name__ = getattr(hook, "__name__", type(hook).__name__)  # what /healthz names
    return hook_if_active


def _only_standby(hook: Callable[[Cycle], None], active: ActiveControl) -> Callable[[Cycle], None]:
    def hook_if_standby(cycle: Cycle) -> None:
        if not active.is_active():
            hook(cycle)

    hook_if_standby.__name__ = getattr(hook, "__name__", type(hook).__name__)
    return hook_if_standby


class _AfterTakeover:
    """A stage's thread that starts once this serve first holds the plan's lease (a standby's waits).
    What it sends after a demotion is fenced where it matters (the outbox's claim)."""

    def __init__(self, worker: Worker, active: ActiveControl):
        self.inner = worker
        self.active = active
        self._stop = threading.Event()

    def worker(self) -> Worker:
        return Worker(self.inner.name, self.inner.thread_name, self.run, self.stop)

    def run(self) -> object:
        while not self.active.wait_active(1.0):
            if self._stop.is_set():
                return None
        if self._stop.is_set():
            return None
        return self.inner.run()

    def stop(self) -> object:
        self._stop.set()
        return self.inner.stop()


def open_state_db(plan: Plan, environ: Mapping[str, str]) -> StateDB:
    """The state database with the data disk's reserve: on a full disk the reserve is given back and
    the database tried again; if it still cannot be opened it is tried again later (`unavailable`)."""
    reserve = DiskReserve(plan.data_dir)
    health = Persistence(reserve)
    url = state_url(plan.data_dir, plan.state_db_url_env, environ)
    state_db = StateDB.open_or_defer(url, health=health)
    if state_db.unavailable and disk_full(Exception(state_db.unavailable)) and reserve.release():
        state_db.close()
        state_db = StateDB.open_or_defer(url, health=health)
    reserve.ensure()
    return state_db


def compose(plan: Plan, environ: Mapping[str, str] = os.environ,
            stages: Sequence[Stage] = STAGES, lease: Callable[[StateDB], Role] | None = None) -> Composition:
    """Open the state database and build every stage on it; on failure, nothing is left open.
    A state database that cannot be opened (a full disk, a server that is down) leaves only the
    monitoring stages, working from memory until it can be opened (`Composition.degraded`).
    `lease`: serve's, made on the state database and bound before the stages are built (they
    leave what only the active serve may do to their `on_active`)."""
    state_db = open_state_db(plan, environ)
    families = metric_registry(stages)  # every family: the rules' units do not depend on what runs
    degraded = None
    if state_db.unavailable:
        degraded = f"monitoring only: {state_db.unavailable}; backups and drills are off until opsplan serve restarts"
        state_db.health.mode = degraded
        stages = [stage for stage in stages if stage.name in MONITORING_ONLY]
    context = StageContext(plan=plan, state_db=state_db, environ=environ, families=families)
    if lease is not None and not state_db.unavailable:  # without the database: alone, monitoring only
        context.active.bind(lease(state_db))
    composition = Composition(context, degraded=degraded)
    try:
        for stage in stages:
            composition.parts.append((stage.name, stage.build(composition.context)))
    except BaseException:
        composition.stop()
        raise
    return composition
