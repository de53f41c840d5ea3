"""Backups (seed §4.1): MariaDB with mariabackup, binlog archiving, AI models and configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from opsplan.backup import files_metrics
from opsplan.backup.binlogs import rpo
from opsplan.backup.database import metrics as db_metrics
from opsplan.metrics import MetricSpec
from opsplan.metrics.cached import SERVE_MAX_AGE, watch
from opsplan.stages.part import Stage, StageContext, StagePart

if TYPE_CHECKING:  # the web framework loads with `serve`, not with every command that reads the plan
    from fastapi import APIRouter


def build(ctx: StageContext) -> StagePart:
    from opsplan.backup.binlogs.jobs import binlog_jobs  # the jobs load when serve builds the stage
    from opsplan.backup.database.jobs import database_jobs, recover_at_start
    from opsplan.backup.files_jobs import file_backup_jobs

    plan, db = ctx.plan, ctx.state_db
    # A backup killed with the last process (SIGKILL, power loss) is marked failed and cleaned first:
    # at start, or when this serve takes the plan's lease (a standby leaves the active's backup be).
    def recover() -> None:
        recover_at_start(plan, db)

    if ctx.active.is_active():
        recover()
    database = db_metrics.BackupCollector(plan, db, max_age=SERVE_MAX_AGE)
    files = files_metrics.FileBackupCollector(plan, db, max_age=SERVE_MAX_AGE)
    archive = rpo.RpoCollector(plan, db, max_age=SERVE_MAX_AGE)
    # Closed binlogs archived every few minutes: point-in-time restores and a smaller RPO.
    jobs = database_jobs(plan, db) + file_backup_jobs(plan, db) + binlog_jobs(plan, db, environ=ctx.environ)
    # The catalog figures are read again when one of these jobs starts or ends, not every cycle.
    return StagePart(collectors=[database, files, archive],
                     jobs=watch(jobs, [database.reading, files.reading, archive.reading]),
                     routers=_page(ctx), on_active=[recover])


def _page(ctx: StageContext) -> list[APIRouter]:
    """The console's backups page, in the console's frame (none without a console: nothing to log in to)."""
    from opsplan.web.console.backups import backups_router
    from opsplan.web.console.frame import Console, NavItem

    console = ctx.get(Console)
    if console is None:
        return []
    console.add_page(NavItem("/backups", 30))
    return [backups_router(ctx.plan, ctx.state_db, console, ctx.job_control)]


def families() -> Mapping[str, MetricSpec]:
    return {**db_metrics.METRICS, **files_metrics.METRICS, **rpo.METRICS}


STAGE = Stage("backup", build, families=families)
