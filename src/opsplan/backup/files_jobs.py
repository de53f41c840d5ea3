"""Model and configuration backups as the plan schedules them, for `opsplan serve` and the CLI.

Models are looked at every `backup.models.check_interval`: a look stats every file and hashes
only those whose size or time changed, so an unchanged model costs a directory walk. The
configuration gets a cheap look (sizes, times, modes, owners) every `backup.config.check_interval`
and a full pass daily (`backup.config.daily`). Each job tells the scheduler when it last
succeeded, so a run missed while opsplan was down happens at start-up (the scheduler logs it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from opsplan.backup.config.git_repo import TARGET as CONFIG_TARGET
from opsplan.backup.config.git_repo import ConfigBackupResult, ConfigRepo
from opsplan.backup.models.catalog import OK, UNCHANGED, FileBackupRun, epoch
from opsplan.backup.models.store import ModelBackupResult, ModelStore, target_of
from opsplan.errors import BackupError
from opsplan.jobs import Job, interval_cron
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

log = logging.getLogger(__name__)

Clock = Callable[[], float]


def model_store(plan: Plan, db: StateDB, *, clock: Clock = time.time, progress_stream=None) -> ModelStore:
    return ModelStore(plan.backup.directory, db, clock=clock, progress_stream=progress_stream)


def config_repo(plan: Plan, db: StateDB, *, clock: Clock = time.time) -> ConfigRepo:
    return ConfigRepo(plan.backup.directory, db, clock=clock)


def plan_secret_files(plan: Plan) -> list[Path]:
    """Files the plan reads secrets from: never copied into the configuration history."""
    files = [plan.database.password_file] if plan.database.password_file else []
    files += [c.url_file for c in plan.notifications.channels if c.url_file]
    return [Path(f) for f in files]


def backup_models(plan: Plan, db: StateDB, *, clock: Clock = time.time, only: str | None = None,
                  version: str | None = None, progress_stream=None) -> list[ModelBackupResult]:
    """Back up every model of the plan (or `only` one); one failing model does not stop the others."""
    sources = plan.backup.models.models
    if only is not None:
        sources = [m for m in sources if m.name == only]
        if not sources:
            known = ", ".join(m.name for m in plan.backup.models.models) or "none"
            raise BackupError(f"the plan has no model {only} (backup.models.models: {known})")
    store = model_store(plan, db, clock=clock, progress_stream=progress_stream)
    results, failures = [], []
    for source in sources:
        try:
            results.append(store.backup(source.name, source.path, keep=plan.backup.models.keep_versions,
                                        version=version))
        except BackupError as exc:
            log.error("%s", exc)
            failures.append(str(exc))
    if failures:
        raise BackupError(failures[0] if len(failures) == 1 else f"{len(failures)} models failed: {failures[0]} ...")
    return results


def backup_config(plan: Plan, db: StateDB, *, clock: Clock = time.time) -> ConfigBackupResult:
    cfg = plan.backup.config
    return config_repo(plan, db, clock=clock).backup(cfg.paths, cfg.exclude, plan_secret_files(plan))


def last_success(db: StateDB, target: str) -> float | None:
    """When a target ("config", "model:NAME") last finished ok or unchanged."""
    with db.session() as session:
        when = session.scalar(select(func.max(FileBackupRun.finished_at)).where(
            FileBackupRun.target == target, FileBackupRun.status.in_((OK, UNCHANGED))))
    return epoch(when) if when is not None else None


def file_backup_jobs(plan: Plan, state_db: StateDB, *, clock: Clock = time.time) -> list[Job]:
    """The scheduler's jobs for model and configuration backups (none for models when the plan lists none)."""
    jobs = []
    models = plan.backup.models
    if models.models:
        jobs.append(Job(
            name="backup-models", cron=interval_cron(models.check_interval),
            run=lambda: backup_models(plan, state_db, clock=clock),
            last_run=lambda: _oldest_model_success(plan, state_db)))
    cfg = plan.backup.config
    if cfg.paths:
        def look_then_back_up() -> ConfigBackupResult | None:
            if not config_repo(plan, state_db, clock=clock).changed_since_last_backup(cfg.paths):
                return None
            log.info("configuration changed; backing it up")
            return backup_config(plan, state_db, clock=clock)

        jobs.append(Job(name="backup-config-check", cron=interval_cron(cfg.check_interval), run=look_then_back_up))
        jobs.append(Job(name="backup-config-daily", cron=cfg.daily,
                        run=lambda: backup_config(plan, state_db, clock=clock),
                        last_run=lambda: last_success(state_db, CONFIG_TARGET)))
    return jobs


def _oldest_model_success(plan: Plan, db: StateDB) -> float | None:
    """The model furthest behind decides whether the start-up catch-up runs."""
    times = [last_success(db, target_of(m.name)) for m in plan.backup.models.models]
    known = [t for t in times if t is not None]
    return min(known) if known else None
