"""Every stage, in the order `serve` builds them and runs their cycle hooks; and what is derived
from the list (the metric registry, the plan checks, the composed parts)."""

from __future__ import annotations

import logging
import os
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
from opsplan.stages.part import Stage, StageContext, StagePart, Worker
from opsplan.store.health import Persistence, disk_full
from opsplan.store.reserve import DiskReserve
from opsplan.store.state import StateDB, state_url

if TYPE_CHECKING:  # the web framework loads with `serve`, not with every command that reads the plan
    from fastapi import APIRouter

log = logging.getLogger("opsplan.serve")

# Order matters once: alert rules see a cycle before notification metrics are added to it.
STAGES: tuple[Stage, ...] = (
    collection.STAGE,
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
MONITORING_ONLY = ("collection", "console", "alerting", "notify", "oncall")


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
        return [h for _, part in self.parts for h in part.on_cycle]

    @property
    def jobs(self) -> list[Job]:
        return [j for _, part in self.parts for j in part.jobs]

    @property
    def workers(self) -> list[Worker]:
        return [w for _, part in self.parts for w in part.workers]

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
            stages: Sequence[Stage] = STAGES) -> Composition:
    """Open the state database and build every stage on it; on failure, nothing is left open.
    A state database that cannot be opened (a full disk, a server that is down) leaves only the
    monitoring stages, working from memory until it can be opened (`Composition.degraded`)."""
    state_db = open_state_db(plan, environ)
    families = metric_registry(stages)  # every family: the rules' units do not depend on what runs
    degraded = None
    if state_db.unavailable:
        degraded = f"monitoring only: {state_db.unavailable}; backups and drills are off until opsplan serve restarts"
        state_db.health.mode = degraded
        stages = [stage for stage in stages if stage.name in MONITORING_ONLY]
    context = StageContext(plan=plan, state_db=state_db, environ=environ, families=families)
    composition = Composition(context, degraded=degraded)
    try:
        for stage in stages:
            composition.parts.append((stage.name, stage.build(composition.context)))
    except BaseException:
        composition.stop()
        raise
    return composition
