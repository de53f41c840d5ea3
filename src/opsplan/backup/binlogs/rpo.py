"""The achievable RPO and the binlog archiver's state as metrics (docs/metrics-binlogs.md lists them).

RPO here is how much would be lost if the server died now: now minus the newest restorable point
(the newest backup's end, or later through the archived binlogs that follow it without a gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opsplan.backup.binlogs.archive import archived, status_row
from opsplan.backup.binlogs.restore import newest_restorable
from opsplan.backup.database import catalog
from opsplan.metrics import MetricSpec, Sample, gauge, sample
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


class RpoCollector:
    name = "rpo"

    def __init__(self, plan: Plan, state_db: StateDB, clock: Callable[[], float] = time.time):
        self.plan = plan
        self.state_db = state_db
        self.clock = clock

    def collect(self) -> list[Sample]:
        now = self.clock()
        with self.state_db.session() as session:
            point = newest_restorable(session)
            created = catalog.catalog_created_at(session)
            status = status_row(session)
            success, off_at = status.last_success_at, status.log_bin_off_at
            kept = len(archived(session))
        samples: list[Sample] = []
        since = point if point is not None else created
        if since is not None:
            samples.append(sample("opsplan_backup_rpo_seconds", max(0.0, now - since), target=catalog.DATABASE_TARGET))
        binlogs_on = self.plan.backup.database.binlog_archive and off_at is None
        if binlogs_on and success is not None:
            samples += [
                sample("opsplan_binlog_archive_last_success_timestamp_seconds", success),
                sample("opsplan_binlog_archived_files", float(kept)),
            ]
        return samples
