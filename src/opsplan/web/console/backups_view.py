"""What the backups page shows, read from the catalogs `opsplan backup list`, `binlogs`, `models`
and `config log` read: database chains (each full with its incrementals), the binlog archive and
the RPO it gives, the AI model versions kept, the configuration's Git commits, and retention.

Stored reasons are English (the engines write them for logs and the CLI's --json); the page shows
a headline in its own language and the stored words on a `상세:` line (KOREAN.md rule 6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from opsplan import format as fmt
from opsplan.backup.binlogs.archive import BinlogArchiveStatus, archived
from opsplan.backup.binlogs.restore import newest_restorable
from opsplan.backup.config.git_repo import TARGET as CONFIG_TARGET
from opsplan.backup.config.git_repo import ConfigRepo
from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import FAILED, FULL, OK, RUNNING, DbBackup
from opsplan.backup.models.catalog import FileBackupRun
from opsplan.backup.models.store import ModelStore, target_of
from opsplan.errors import BackupError
from opsplan.i18n import t
from opsplan.jobs import next_fire
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB
from opsplan.web.status_backups import reason_text

CONFIG_COMMITS_SHOWN = 10
_KIND_KEY = {"full": "backup.kind.full", "incremental": "backup.kind.incremental"}
_STATUS_KEY = {"ok": "backup.status.ok", "failed": "backup.status.failed", "running": "backup.status.running"}
# Reasons the database engine writes that the overview's three headlines do not name; checked first.
_DB_REASONS: list[tuple[str, Callable[[str], bool]]] = [
    # backup/database/server.py: "database HOST:PORT unreachable as USER: <mariadb/errors.py reason>"
    ("access_denied", lambda r: "Access denied" in r or r.endswith(": access denied")),
    ("no_connection", lambda r: " unreachable as " in r or "Can't connect" in r or "cannot connect" in r.lower()),
    ("no_base", lambda r: "no backup to build an incremental on" in r),
    ("chain_rule", lambda r: "chain rule" in r),
    ("mariabackup", lambda r: "mariabackup exited with" in r),
]
_DB_REASON_KEY = {"access_denied": "console.backups.reason.access_denied",
                  "no_connection": "console.backups.reason.no_connection",
                  "no_base": "console.backups.reason.no_base", "chain_rule": "console.backups.reason.chain_rule",
                  "mariabackup": "console.backups.reason.mariabackup"}
# What `verify_backup` stores when a check fails (backup/database/verify.py).
_VERIFY_REASONS: list[tuple[str, Callable[[str], bool]]] = [
    ("hash", lambda r: "does not match its" in r),
    ("missing", lambda r: r.endswith("is missing")),
    ("size", lambda r: "the catalog says" in r),
    ("no_files", lambda r: "has no stored files" in r),
    ("not_ok", lambda r: r.endswith(", not ok")),
]
_VERIFY_REASON_KEY = {"hash": "console.backups.verify_reason.hash", "missing": "console.backups.verify_reason.missing",
                      "size": "console.backups.verify_reason.size",
                      "no_files": "console.backups.verify_reason.no_files",
                      "not_ok": "console.backups.verify_reason.not_ok", "other": "console.backups.verify_reason.other"}


def backup_reason(reason: str | None, language: str) -> dict[str, str | None]:
    """A failed backup's reason: {'headline': in the page's language, 'detail': the stored words}."""
    kind = next((name for name, test in _DB_REASONS if reason and test(reason)), None)
    if kind is None:
        return reason_text(reason, language)
    return {"headline": t(_DB_REASON_KEY[kind], language), "detail": reason}


def verify_reason(reason: str | None, language: str) -> dict[str, str | None]:
    kind = next((name for name, test in _VERIFY_REASONS if reason and test(reason)), "other")
    return {"headline": t(_VERIFY_REASON_KEY[kind], language), "detail": reason}


# --- the database: chains ------------------------------------------------------------------------

def chains(backups: list[DbBackup], plan: Plan, now: float, language: str,
           verifying: set[int], unfinished: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """Each full with the incrementals built on it (oldest first), newest chain first. An attempt
    that belongs to no chain (a failed full, an incremental with nothing to build on) stands alone."""
    groups: dict[int, list[DbBackup]] = {}
    for backup in backups:
        key = backup.id if backup.kind == FULL else (backup.full_id or backup.parent_id or backup.id)
        groups.setdefault(key, []).append(backup)
    ordered = sorted(groups.items(), key=lambda item: max((b.started_at, b.id) for b in item[1]), reverse=True)
    newest_ok = next((key for key, members in ordered
                      if any(b.status == OK for b in members) and members[0].kind == FULL), None)
    out = []
    for key, members in ordered:
        members.sort(key=lambda b: (b.started_at, b.id))
        head = members[0]
        out.append({
            "key": key,
            "full_kept": head.id == key and head.kind == FULL,
            "current": key == newest_ok,
            "failed_only": all(b.status == FAILED for b in members),
            "rows": [_row(b, plan, now, language, verifying, (unfinished or {}).get(b.id)) for b in members],
        })
    return out


def _row(b: DbBackup, plan: Plan, now: float, language: str, verifying: set[int],
         unfinished: str | None) -> dict[str, Any]:
    tz = plan.timezone
    verify: dict[str, Any]
    if b.id in verifying:
        verify = {"state": "running", "text": t("console.backups.verifying", language)}
    elif unfinished is not None:
        verify = {"state": "failed", "text": t("console.backups.verify_unfinished", language),
                  "reason": {"headline": None, "detail": unfinished}}
    elif b.verify_status is None and b.status != OK:
        verify = {"state": "none", "text": "–"}  # a failed or running attempt has nothing to verify
    elif b.verify_status is None:
        verify = {"state": "never", "text": t("console.backups.not_verified", language)}
    else:
        passed = b.verify_status == OK
        text = t("console.backups.verified_ok" if passed else "console.backups.verified_failed", language,
                 time=fmt.local_time(b.verified_at, tz, zone_name=True))
        if b.verify_deep:
            text += t("backup.list.deep", language)
        verify = {"state": "ok" if passed else "failed", "text": text,
                  "reason": None if passed else verify_reason(b.verify_reason, language)}
    running = b.status == RUNNING
    return {
        "id": b.id,
        "incremental": b.kind != FULL,
        "kind_text": t(_KIND_KEY[b.kind], language) if b.kind in _KIND_KEY else b.kind,
        "status": b.status,
        "status_text": t(_STATUS_KEY[b.status], language) if b.status in _STATUS_KEY else b.status,
        "started_shown": fmt.local_time(b.started_at, tz, zone_name=True),
        "age_shown": fmt.age(now - (b.finished_at or b.started_at), language=language),
        "duration_shown": fmt.duration(now - b.started_at if running else b.duration, precision=0,
                                       language=language),
        "size_shown": fmt.size_short(b.bytes_stored) if b.status == OK else "–",
        "reason": backup_reason(b.reason, language) if b.status == FAILED else None,
        "verify": verify,
        "can_verify": b.status == OK and b.id not in verifying,
    }


def database(plan: Plan, state_db: StateDB, now: float, language: str, *, verifying: set[int],
             job_running: bool, may_operate: bool, unfinished: dict[int, str] | None = None) -> dict[str, Any]:
    with state_db.session() as session:
        backups = catalog.all_backups(session)
    shown = chains(backups, plan, now, language, verifying, unfinished)
    tz = plan.timezone
    settings = plan.backup.database
    next_at = fmt.local_time(next_fire(settings.schedule, now, tz), tz, zone_name=True, seconds=False)
    empty = None
    if not backups:
        empty = t("console.backups.empty_operator" if may_operate else "console.backups.empty", language,
                  time=next_at)
    return {
        "chains": shown,
        "empty_text": empty,
        "running": job_running or any(b.status == RUNNING for b in backups),
        "next_text": t("console.backups.next", language, time=next_at),
        "retention_text": t("console.backups.retention", language, days=fmt.figure(settings.retention / 86400)),
        "chain_rule_text": t("console.backups.chain_rule", language, n=settings.max_chain_length),
    }


# --- the binlog archive and the RPO ---------------------------------------------------------------

def binlogs(plan: Plan, state_db: StateDB, now: float, language: str) -> dict[str, Any]:
    tz = plan.timezone
    with state_db.session() as session:
        kept = archived(session)
        status = session.get(BinlogArchiveStatus, 1)  # read only: status_row() would add it
        point = newest_restorable(session)
        created = catalog.catalog_created_at(session)
    since = point if point is not None else created
    rpo = None if since is None else max(0.0, now - since)
    target = plan.recovery.rpo
    newest_event = max((r.last_event_at for r in kept if r.last_event_at is not None), default=None)
    error = None
    if status is not None and status.last_error and (status.last_success_at or 0) < (status.last_failure_at or 0):
        error = {"headline": t("console.backups.binlog_failed", language,
                               time=fmt.local_time(status.last_failure_at, tz, zone_name=True)),
                 "detail": status.last_error}
    return {
        "enabled": plan.backup.database.binlog_archive,
        "log_bin_off": status is not None and status.log_bin_off_at is not None,
        "files_text": t("console.backups.binlog_files", language, count=len(kept),
                        size=fmt.size_short(sum(r.size or 0 for r in kept))),
        "count": len(kept),
        "newest_event_shown": fmt.local_time(newest_event, tz, zone_name=True, missing=None),
        "last_pass_shown": fmt.local_time(status.last_success_at if status else None, tz, zone_name=True,
                                          missing=None),
        "error": error,
        "rpo_shown": fmt.duration(rpo, precision=0, language=language, missing=t("status.not_measured", language)),
        "rpo_target_shown": fmt.duration(target, language=language),
        "rpo_within": None if rpo is None else rpo <= target,
        "restorable_shown": fmt.local_time(point, tz, zone_name=True, missing=None),
    }


# --- AI models and configuration ----------------------------------------------------------------

def _last_runs(state_db: StateDB, targets: list[str]) -> dict[str, FileBackupRun]:
    out: dict[str, FileBackupRun] = {}
    with state_db.session() as session:
        for target in targets:
            run = session.scalars(select(FileBackupRun).where(
                FileBackupRun.target == target, FileBackupRun.finished_at.is_not(None))
                .order_by(FileBackupRun.finished_at.desc(), FileBackupRun.id.desc()).limit(1)).first()
            if run is not None:
                out[target] = run
    return out


def _failure(run: FileBackupRun | None, tz: str, language: str) -> dict[str, str | None] | None:
    if run is None or run.status != FAILED:
        return None
    shown = reason_text(run.reason, language)
    when = fmt.local_time(fmt.timestamp(run.finished_at or run.started_at), tz, zone_name=True)
    return {"headline": t("console.backups.last_failed", language, time=when, reason=shown["headline"]),
            "detail": shown["detail"]}


def models(plan: Plan, state_db: StateDB, language: str) -> dict[str, Any]:
    tz, settings = plan.timezone, plan.backup.models
    store = ModelStore(plan.backup.directory, state_db)
    runs = _last_runs(state_db, [target_of(m.name) for m in settings.models])
    shown = []
    for source in settings.models:
        versions = store.versions(source.name)
        shown.append({
            "name": source.name,
            "versions": [{"version": v.version, "files": fmt.figure(v.files),
                          "size_shown": fmt.size_short(v.size_bytes),
                          "created_shown": fmt.local_time(fmt.timestamp(v.created_at), tz, zone_name=True)}
                         for v in reversed(versions)],  # newest first
            "kept_text": t("console.backups.versions_kept", language, count=len(versions), n=settings.keep_versions),
            "failure": _failure(runs.get(target_of(source.name)), tz, language),
        })
    return {"models": shown, "keep_text": t("console.backups.keep_versions", language, n=settings.keep_versions)}


def config(plan: Plan, state_db: StateDB, now: float, language: str) -> dict[str, Any]:
    tz, settings = plan.timezone, plan.backup.config
    if not settings.paths:
        return {"configured": False, "commits": [], "error": None}
    commits, error = [], None
    try:
        history = ConfigRepo(plan.backup.directory, state_db).log(CONFIG_COMMITS_SHOWN)
    except BackupError as exc:  # git missing, or the repository damaged: the page still shows the rest
        history, error = [], {"headline": t("console.backups.config_unreadable", language), "detail": str(exc)}
    for commit in history:
        commits.append({"commit": commit.commit[:12],
                        "time_shown": fmt.local_time(commit.timestamp, tz, zone_name=True),
                        "files_text": t("console.backups.config_files", language, count=len(commit.files))})
    daily = fmt.local_time(next_fire(settings.daily, now, tz), tz, zone_name=True, seconds=False)
    return {
        "configured": True,
        "paths": [str(p) for p in settings.paths],
        "commits": commits,
        "error": error,
        "failure": _failure(_last_runs(state_db, [CONFIG_TARGET]).get(CONFIG_TARGET), tz, language),
        "empty_text": t("console.backups.config_empty", language, time=daily),
        "rule_text": t("console.backups.config_rule", language,
                       duration=fmt.duration(settings.check_interval, language=language), time=daily),
    }
