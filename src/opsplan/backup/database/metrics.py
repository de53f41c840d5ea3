"""Backup state as metrics, read from the catalog each cycle (docs/metrics-backup.md lists them)."""

from __future__ import annotations

import time
from collections.abc import Callable

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import OK
from opsplan.metrics import MetricSpec, Sample, gauge, sample
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

METRICS: dict[str, MetricSpec] = {
    "opsplan_backup_last_success_timestamp_seconds": gauge(
        "When the target's newest successful backup finished (absent until the first success).",
        "target", unit="seconds"),
    "opsplan_backup_last_success_age_seconds": gauge(
        "Seconds since the newest successful backup finished; with none yet, since the catalog was created "
        "(BackupTooOld reads this).", "target", unit="seconds"),
    "opsplan_backup_last_size_bytes": gauge(
        "Bytes stored by the newest successful backup (compressed).", "target", unit="bytes"),
    "opsplan_backup_last_duration_seconds": gauge(
        "How long the newest successful backup took.", "target", unit="seconds"),
    "opsplan_backup_last_status": gauge(
        "1 when the newest finished attempt succeeded, 0 when it failed.", "target"),
    "opsplan_backup_running": gauge(
        "1 while a backup of the target runs.", "target"),
}


class BackupCollector:
    name = "backup"

    def __init__(self, plan: Plan, state_db: StateDB, clock: Callable[[], float] = time.time):
        self.plan = plan
        self.state_db = state_db
        self.clock = clock

    def collect(self) -> list[Sample]:
        target = catalog.DATABASE_TARGET
        now = self.clock()
        with self.state_db.session() as session:
            success = catalog.last_success(session, target)
            finished = catalog.last_finished(session, target)
            running = any(b.status == catalog.RUNNING for b in catalog.all_backups(session, target))
            created = catalog.catalog_created_at(session)
        samples = [sample("opsplan_backup_running", 1.0 if running else 0.0, target=target)]
        if success is not None and success.finished_at is not None:
            samples += [
                sample("opsplan_backup_last_success_timestamp_seconds", success.finished_at, target=target),
                sample("opsplan_backup_last_success_age_seconds", max(0.0, now - success.finished_at), target=target),
                sample("opsplan_backup_last_size_bytes", success.bytes_stored or 0, target=target),
                sample("opsplan_backup_last_duration_seconds", success.duration or 0.0, target=target),
            ]
        elif created is not None:
            samples.append(sample("opsplan_backup_last_success_age_seconds", max(0.0, now - created), target=target))
        if finished is not None:
            samples.append(sample("opsplan_backup_last_status", 1.0 if finished.status == OK else 0.0, target=target))
        return samples
