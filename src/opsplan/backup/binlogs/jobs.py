"""Binlog archiving as a scheduler job for `opsplan serve`, every `backup.database.binlog_archive_interval`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping

from opsplan.backup.binlogs.archive import BinlogArchiver, status_row
from opsplan.errors import BackupSkipped, OpsplanError
from opsplan.jobs import Job, interval_cron
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)


def binlog_jobs(
    plan: Plan,
    state_db: StateDB,
    *,
    environ: Mapping[str, str] = os.environ,
    clock: Callable[[], float] = time.time,
) -> list[Job]:
    """[] when the plan turns archiving off; else one job. A server without binary logs is said once."""
    settings = plan.backup.database
    if not settings.binlog_archive:
        return []
    said_off = False

    def run() -> None:
        nonlocal said_off
        archiver = BinlogArchiver(plan, state_db, environ=environ, clock=clock)
        try:
            result = archiver.run()
        except BackupSkipped as exc:
            log.warning("%s", exc)  # a restore holds the archive: not a failure
            return
        except OpsplanError as exc:
            log.error("%s", exc)  # the status row and the metrics say so too
            return
        if not result.log_bin:
            if not said_off:
                log.warning("binlog archiving: %s", result.message)
                said_off = True
            return
        said_off = False
        if result.archived:
            log.info("binlog archiving: %d file(s) archived (%s)", len(result.archived), ", ".join(result.archived))

    def last_run() -> float | None:
        with state_db.session() as session:
            row = status_row(session)
            times = [t for t in (row.last_success_at, row.last_failure_at, row.log_bin_off_at) if t is not None]
        return max(times, default=None)

    return [Job(name="backup-binlogs", cron=interval_cron(settings.binlog_archive_interval), run=run,
                last_run=last_run)]
