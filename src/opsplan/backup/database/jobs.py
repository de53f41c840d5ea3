"""The database backup as scheduler jobs for `opsplan serve`.

One job on `backup.database.schedule` (daily 02:00): the engine picks full or incremental from
the plan (full_schedule, max_chain_length). `last_run` reports the newest finished attempt, so a
02:00 missed while opsplan was down runs at start-up (the scheduler logs that it does); with no
attempt at all it runs at start-up too, logged as its first run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

from opsplan.backup.database import catalog
from opsplan.backup.database.engine import DatabaseBackupEngine
from opsplan.errors import BackupSkipped, OpsplanError
from opsplan.jobs import REQUESTED_BY, Job, missed_since
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
        # "manual" when a person pressed the console's button (the audit log names them), as from the CLI.
        trigger = "manual" if REQUESTED_BY.get() else "schedule"
        engine = DatabaseBackupEngine(plan, state_db, environ=environ, clock=clock, trigger=trigger)
        try:
            engine.run("auto")
        except BackupSkipped as exc:
            log.warning("%s", exc)  # a restore holds the lock: not a failure
        except OpsplanError as exc:
            log.error("scheduled database backup failed: %s", exc)  # the catalog row and the metric say so too

    # No attempt ever (None): run_first, so a new install backs up at start-up.
    return [Job(name="backup-database", cron=plan.backup.database.schedule, run=run,
                last_run=lambda: last_attempt_time(state_db), run_first=True)]
