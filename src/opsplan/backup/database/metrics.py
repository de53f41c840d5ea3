"""Backup state as metrics, from the catalog (docs/metrics-backup.md lists them); serve keeps the
reading between cycles (`opsplan.metrics.cached`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import OK
from opsplan.metrics import MetricSpec, Sample, gauge, sample
from opsplan.metrics.cached import CachedReading
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


class _Catalog(NamedTuple):
    success: tuple[float, float, float] | None  # (finished at, bytes stored, duration)
    last_ok: bool | None  # the newest finished attempt succeeded; None: none finished
    running: bool
    created: float | None


class BackupCollector:
    name = "backup"

    def __init__(self, plan: Plan, state_db: StateDB, clock: Callable[[], float] = time.time, *,
                 max_age: float = 0.0):
        self.plan = plan
        self.state_db = state_db
        self.clock = clock
        # serve keeps the catalog figures between cycles (metrics/cached.py); ages are computed each cycle.
        self.reading = CachedReading(self._read, max_age=max_age, clock=clock)

    def _read(self) -> _Catalog:
        target = catalog.DATABASE_TARGET
        with self.state_db.session() as session:
            success = catalog.last_success(session, target)
            finished = catalog.last_finished(session, target)
            running = any(b.status == catalog.RUNNING for b in catalog.all_backups(session, target))
            created = catalog.catalog_created_at(session)
            done = (None if success is None or success.finished_at is None
                    else (success.finished_at, float(success.bytes_stored or 0), success.duration or 0.0))
            return _Catalog(done, None if finished is None else finished.status == OK, running, created)

    def collect(self) -> list[Sample]:
        target = catalog.DATABASE_TARGET
        now = self.clock()
        figures = self.reading.get()
        samples = [sample("opsplan_backup_running", 1.0 if figures.running else 0.0, target=target)]
        if figures.success is not None:
            finished_at, stored, duration = figures.success
            samples += [
                sample("opsplan_backup_last_success_timestamp_seconds", finished_at, target=target),
                sample("opsplan_backup_last_success_age_seconds", max(0.0, now - finished_at), target=target),
                sample("opsplan_backup_last_size_bytes", stored, target=target),
                sample("opsplan_backup_last_duration_seconds", duration, target=target),
            ]
        elif figures.created is not None:
            samples.append(sample("opsplan_backup_last_success_age_seconds", max(0.0, now - figures.created),
                                  target=target))
        if figures.last_ok is not None:
            samples.append(sample("opsplan_backup_last_status", 1.0 if figures.last_ok else 0.0, target=target))
        return samples
