"""The drills `opsplan serve` runs on the plan's schedule: the database drill and one per model.

Both run on `recovery.drill_schedule`, or the quarterly check's schedule (seed §2.2) when it is
not set: one function says which, so the two cannot drift apart.

A fresh install does not wait a quarter for its first database drill: `drill-database-first`
looks every hour and runs the drill once there is an ok backup and no drill was ever recorded.
Every drill job's `last_run` is its newest recorded drill, so one missed while `serve` was down
runs at start-up.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Mapping

from opsplan.backup.database import catalog
from opsplan.errors import OpsplanError
from opsplan.jobs import Job, job_actor
from opsplan.plan.models import Plan
from opsplan.runbooks.drill import database as drill_db
from opsplan.runbooks.drill import model as drill_model
from opsplan.runbooks.drill import results as drill_results
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


def drill_schedule(plan: Plan) -> str:
    return plan.recovery.drill_schedule or plan.checks.quarterly.schedule


def database_drill_jobs(plan: Plan, state_db: StateDB, *, environ: Mapping[str, str] = os.environ,
                        clock: Callable[[], float] = time.time) -> list[Job]:
    """The quarterly database drill.

    `last_run` is the newest drill's start, so a drill missed while opsplan was down runs at start-up;
    with no backup yet the job records a failed drill (and DrillFailed fires) rather than staying silent.
    """

    def run() -> None:
        try:
            result = drill_db.run_drill(plan, state_db, {}, environ=environ, clock=clock,
                                        actor=job_actor())
        except OpsplanError as exc:
            log.error("scheduled database drill failed: %s", exc)
            return
        log.info("scheduled database drill %s: %s", result.get("run_id"), result.get("status"))

    def last_run() -> float | None:
        return drill_results.last_drill_time(state_db, drill_results.DATABASE)

    def first_drill() -> None:
        if last_run() is not None or not _has_ok_backup(state_db):
            return  # a drill exists (the schedule takes over), or there is nothing to drill yet
        log.info("first database backup found and no drill yet: running the first drill now")
        run()

    return [Job(name="drill-database", cron=drill_schedule(plan), run=run, last_run=last_run),
            Job(name="drill-database-first", cron=FIRST_DRILL_CHECK, run=first_drill)]


# How often a fresh install looks for its first backup to drill: well within the day it is owed.
FIRST_DRILL_CHECK = "7 * * * *"


def _has_ok_backup(state_db: StateDB) -> bool:
    with state_db.session() as session:
        return catalog.last_chain_tip(session) is not None


def model_drill_jobs(plan: Plan, state_db: StateDB) -> list[Job]:
    """One drill per model the plan backs up; `last_run` (its newest drill) catches up a missed one."""
    return [Job(f"drill-model-{model.name}", drill_schedule(plan),
                functools.partial(drill_model.run_drill, plan, state_db, model.name),
                last_run=functools.partial(drill_results.last_drill_time, state_db, f"model:{model.name}"))
            for model in plan.backup.models.models]
