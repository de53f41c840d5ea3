"""Recovery drills (seed §2.2 quarterly, §4.2): restore into a scratch server, never the live one.

Also the table capture after each database backup: the backup's row counts and checksums, read
from its prepared copy on a scratch server (what the drill compares a restore with).

And the console's runbooks page (/runbooks): the journal, "run a drill now", the admin's restore."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsplan.metrics.cached import SERVE_MAX_AGE, watch
from opsplan.runbooks.drill import results as drill_results
from opsplan.stages.part import Stage, StageContext, StagePart

if TYPE_CHECKING:  # the web framework loads when serve builds the stage
    from fastapi import APIRouter


def build(ctx: StageContext) -> StagePart:
    from opsplan.runbooks.drill.jobs import database_drill_jobs, model_drill_jobs  # when serve builds it
    from opsplan.runbooks.restore.capture import capture_jobs

    plan, db = ctx.plan, ctx.state_db
    collector = drill_results.DrillCollector(plan, db, max_age=SERVE_MAX_AGE)
    jobs = database_drill_jobs(plan, db, environ=ctx.environ) + model_drill_jobs(plan, db) + capture_jobs(plan, db)
    # The drill figures are read again when a drill starts or ends, not every cycle.
    part = StagePart(collectors=[collector], jobs=watch(jobs, [collector.reading]))
    part.routers += _pages(ctx)
    return part


def _pages(ctx: StageContext) -> list[APIRouter]:
    from opsplan.web.console.frame import Console
    from opsplan.web.console.restore_start import RestoreStarter
    from opsplan.web.console.runbooks import runbooks_router

    console = ctx.get(Console)
    if console is None:  # a composition without the console stage (a test's): no page
        return []
    restore = RestoreStarter(ctx.plan, ctx.state_db, environ=ctx.environ)
    return [runbooks_router(console, ctx.state_db, ctx.job_control, restore)]


STAGE = Stage("recovery", build, families=lambda: drill_results.METRICS)
