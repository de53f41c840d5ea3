"""Metrics of the model and configuration backups, one series per target ("model:NAME", "config").

The database engine exports the same four names for target="database"; together they feed the
status page and the backup-age alert.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func, select

from opsplan.backup.config.git_repo import TARGET as CONFIG_TARGET

# The four per-target names mean the same for every target: one definition, in backup.metrics.
from opsplan.backup.database.metrics import METRICS as DB_METRICS
from opsplan.backup.models.catalog import FAILED, KEPT, OK, UNCHANGED, FileBackupRun, ModelVersion, epoch
from opsplan.backup.models.store import target_of
from opsplan.metrics import MetricSpec, Sample, gauge, sample
from opsplan.metrics.cached import CachedReading
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

METRICS: dict[str, MetricSpec] = {
    **{name: DB_METRICS[name] for name in (
        "opsplan_backup_last_success_timestamp_seconds", "opsplan_backup_last_size_bytes",
        "opsplan_backup_last_duration_seconds", "opsplan_backup_last_status")},
    "opsplan_backup_model_versions": gauge("Versions of the model kept in the backup", "model"),
}


class FileBackupCollector:
    name = "backup_files"

    def __init__(self, plan: Plan, db: StateDB, *, clock: Callable[[], float] = time.time, max_age: float = 0.0):
        self.plan = plan
        self.db = db
        self.clock = clock
        # Nothing here depends on the time of the cycle: serve keeps the samples between cycles.
        self.reading = CachedReading(self._read, max_age=max_age, clock=clock)

    def collect(self) -> list[Sample]:
        return list(self.reading.get())

    def _read(self) -> list[Sample]:
        targets = [target_of(m.name) for m in self.plan.backup.models.models]
        if self.plan.backup.config.paths:
            targets.append(CONFIG_TARGET)
        samples: list[Sample] = []
        with self.db.session() as session:
            for target in targets:
                finished = session.scalars(select(FileBackupRun).where(
                    FileBackupRun.target == target, FileBackupRun.status.in_((OK, UNCHANGED, FAILED)))
                    .order_by(FileBackupRun.finished_at.desc(), FileBackupRun.id.desc()).limit(1)).first()
                if finished is None or finished.finished_at is None:
                    continue  # never ran: no series, rather than a misleading 0
                samples.append(sample("opsplan_backup_last_status", 0 if finished.status == FAILED else 1,
                                      target=target))
                success = session.scalars(select(FileBackupRun).where(
                    FileBackupRun.target == target, FileBackupRun.status.in_((OK, UNCHANGED)))
                    .order_by(FileBackupRun.finished_at.desc(), FileBackupRun.id.desc()).limit(1)).first()
                if success is not None and success.finished_at is not None:
                    samples.append(sample("opsplan_backup_last_success_timestamp_seconds",
                                          epoch(success.finished_at), target=target))
                    samples.append(sample("opsplan_backup_last_size_bytes", success.size_bytes, target=target))
                    samples.append(sample("opsplan_backup_last_duration_seconds",
                                          max(epoch(success.finished_at) - epoch(success.started_at), 0.0),
                                          target=target))
            for model in self.plan.backup.models.models:
                count = session.scalar(select(func.count()).select_from(ModelVersion).where(
                    ModelVersion.model == model.name, ModelVersion.status == KEPT))
                samples.append(sample("opsplan_backup_model_versions", count or 0, model=model.name))
        return samples
