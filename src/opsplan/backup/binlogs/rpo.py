"""The achievable RPO and the binlog archiver's state as metrics (docs/metrics-binlogs.md lists them).

RPO here is how much would be lost if the server died now: now minus the newest restorable point
(the newest backup's end, or later through the archived binlogs that follow it without a gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from opsplan.backup.binlogs.archive import archived, status_row
from opsplan.backup.binlogs.restore import newest_restorable
from opsplan.backup.database import catalog
from opsplan.metrics import MetricSpec, Sample, gauge, sample
from opsplan.metrics.cached import CachedReading
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

METRICS: dict[str, MetricSpec] = {
    "opsplan_backup_rpo_seconds": gauge(
        "Seconds since the newest restorable point (the newest archived binlog event reachable from the newest "
        "backup, else that backup's end; with no backup yet, since the catalog was created). RpoTargetExceeded "
        "reads this.", "target", unit="seconds"),
    "opsplan_binlog_archive_last_success_timestamp_seconds": gauge(
        "When the last binlog archiving pass finished without error (absent while the server writes no binlogs).",
        unit="seconds"),
    "opsplan_binlog_archived_files": gauge(
        "Archived binlog files kept (not pruned)."),
}


class _Archive(NamedTuple):
    point: float | None  # the newest restorable point
    created: float | None  # when the catalog was created
    success: float | None  # the archiver's last clean pass
    off_at: float | None  # when the server was found writing no binlogs
    kept: int


class RpoCollector:
    name = "rpo"

    def __init__(self, plan: Plan, state_db: StateDB, clock: Callable[[], float] = time.time, *,
                 max_age: float = 0.0):
        self.plan = plan
        self.state_db = state_db
        self.clock = clock
        # serve keeps the catalog figures between cycles (metrics/cached.py); the RPO is computed each cycle.
        self.reading = CachedReading(self._read, max_age=max_age, clock=clock)

    def _read(self) -> _Archive:
        with self.state_db.session() as session:
            status = status_row(session)
            return _Archive(newest_restorable(session), catalog.catalog_created_at(session),
                            status.last_success_at, status.log_bin_off_at, len(archived(session)))

    def collect(self) -> list[Sample]:
        now = self.clock()
        figures = self.reading.get()
        samples: list[Sample] = []
        since = figures.point if figures.point is not None else figures.created
        if since is not None:
            samples.append(sample("opsplan_backup_rpo_seconds", max(0.0, now - since), target=catalog.DATABASE_TARGET))
        binlogs_on = self.plan.backup.database.binlog_archive and figures.off_at is None
        if binlogs_on and figures.success is not None:
            samples += [
                sample("opsplan_binlog_archive_last_success_timestamp_seconds", figures.success),
                sample("opsplan_binlog_archived_files", float(figures.kept)),
            ]
        return samples
