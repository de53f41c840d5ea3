"""The database backup as scheduler jobs for `opsplan serve`.

One job on `backup.database.schedule` (daily 02:00): the engine picks full or incremental from
the plan (full_schedule, max_chain_length). `last_run` reports the newest finished attempt, so a
02:00 missed while opsplan was down runs at start-up (the scheduler logs that it does).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

from opsplan import format as fmt
from opsplan.backup.database import catalog
from opsplan.backup.database.engine import DatabaseBackupEngine
from opsplan.errors import BackupSkipped, OpsplanError
from opsplan.jobs import Job, missed_since
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

__all__ = ["database_jobs", "missed_since", "recover_at_start", "last_attempt_time"]


def last_attempt_time(state_db: StateDB) -> float | None:
    """When the newest database backup attempt started, ok or failed (None: never).

    A failed attempt counts as a run: a failure alerts (last_status 0) instead of retrying in a loop.
    """
    with state_db.session() as session:
        rows = catalog.all_backups(session, include_pruned=True)
    return max((r.started_at for r in rows if r.status != catalog.RUNNING), default=None)


def recover_at_start(plan: Plan, state_db: StateDB, clock: Callable[[], float] = time.time) -> list[int]:
    """Call once when `opsplan serve` starts: runs killed earlier become failed, their files go."""
    return DatabaseBackupEngine(plan, state_db, clock=clock).recover()


def database_jobs(
    plan: Plan,
    state_db: StateDB,
    *,
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], float] = time.time,
) -> list[Job]:
    def run() -> None:
        engine = DatabaseBackupEngine(plan, state_db, environ=environ, clock=clock, trigger="schedule")
        try:
            engine.run("auto")
        except BackupSkipped as exc:
            log.warning("%s", exc)  # a restore holds the lock: not a failure
        except OpsplanError as exc:
            log.error("scheduled database backup failed: %s", exc)  # the catalog row and the metric say so too

    def last_run() -> float | None:
        last = last_attempt_time(state_db)
        missed = missed_since(plan.backup.database.schedule, last, clock(), plan.timezone)
        if missed is not None and last is None:
            # No attempt ever: treat as missed so a new install backs up at start-up.
            log.warning("database backup: none taken yet; the one due at %s runs now",
                        fmt.iso_local(missed, plan.timezone, timespec="minutes"))
            return 0.0
        return last

    return [Job(name="backup-database", cron=plan.backup.database.schedule, run=run, last_run=last_run)]
