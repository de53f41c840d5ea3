"""Recovery drills (seed §2.2 quarterly, §4.2): restore into a scratch server, never the live one.

Also the table capture after each database backup: the backup's row counts and checksums, read
from its prepared copy on a scratch server (what the drill compares a restore with)."""

from __future__ import annotations

from opsplan.metrics.cached import SERVE_MAX_AGE, watch
from opsplan.runbooks.drill import results as drill_results
from opsplan.stages.part import Stage, StageContext, StagePart


def build(ctx: StageContext) -> StagePart:
    from opsplan.runbooks.drill.jobs import database_drill_jobs, model_drill_jobs  # when serve builds it
    from opsplan.runbooks.restore.capture import capture_jobs

    plan, db = ctx.plan, ctx.state_db
    collector = drill_results.DrillCollector(plan, db, max_age=SERVE_MAX_AGE)
    jobs = database_drill_jobs(plan, db, environ=ctx.environ) + model_drill_jobs(plan, db) + capture_jobs(plan, db)
    # The drill figures are read again when a drill starts or ends, not every cycle.
    return StagePart(collectors=[collector], jobs=watch(jobs, [collector.reading]))


STAGE = Stage("recovery", build, families=lambda: drill_results.METRICS)
