"""Backups and the restore drill as the overview shows them: the last of each target, its age,
why it failed (in the page's language), and what an empty catalog means ("the first runs at 02:00").

The figures come from the cycle's samples; only the failure reason, which no metric carries, is read
from the catalogs (one query per target, on the page request, when a state database is given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from opsplan import format as fmt
from opsplan.alerts.format import label_value_text
from opsplan.i18n import t
from opsplan.jobs import next_fire
from opsplan.metrics import SampleIndex
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

DATABASE, CONFIG = "database", "config"
# A stored reason (English, written by the engines) read as a headline in the page's language;
# the raw text follows on its own `상세:` line in Korean (KOREAN.md rule 6).
_REASON_KINDS: list[tuple[str, Callable[[str], bool]]] = [
    ("interrupted", lambda r: r.startswith("interrupted") or ": interrupted" in r),
    ("disk_full", lambda r: "disk full" in r or "directory is full" in r or "No space left" in r),
]
_REASON_KEY = {"interrupted": "status.backup_reason.interrupted", "disk_full": "status.backup_reason.disk_full",
               "other": "status.backup_reason.other"}


def reason_text(reason: str | None, language: str) -> dict[str, str | None]:
    """{'headline': in the page's language, 'detail': the stored words when they add something}."""
    if not reason:
        return {"headline": t("status.backup_reason.unknown", language), "detail": None}
    kind = next((name for name, test in _REASON_KINDS if test(reason)), "other")
    return {"headline": t(_REASON_KEY[kind], language), "detail": reason}


def planned_targets(plan: Plan) -> list[str]:
    """Every target the plan backs up, in the order people read them: database, models, config."""
    targets = [DATABASE] + [f"model:{m.name}" for m in plan.backup.models.models]
    return targets + ([CONFIG] if plan.backup.config.paths else [])


def failure_reasons(state_db: StateDB | None, targets: list[str]) -> dict[str, str | None]:
    """The stored reason of each target's newest finished attempt (targets whose last attempt failed)."""
    if state_db is None or not targets:
        return {}
    from opsplan.backup.database import catalog  # late: only a page with a failed backup reads it
    from opsplan.backup.models.catalog import FileBackupRun

    out: dict[str, str | None] = {}
    with state_db.session() as session:
        for target in targets:
            if target == DATABASE:
                row = catalog.last_finished(session, target)
                out[target] = None if row is None else row.reason
            else:
                run = session.scalars(select(FileBackupRun).where(
                    FileBackupRun.target == target, FileBackupRun.finished_at.is_not(None))
                    .order_by(FileBackupRun.finished_at.desc(), FileBackupRun.id.desc()).limit(1)).first()
                out[target] = None if run is None else run.reason
    return out


def backups(plan: Plan, index: SampleIndex, now: float, language: str,
            state_db: StateDB | None = None) -> list[dict[str, Any]]:
    tz = plan.timezone
    seen = {s.label("target") or "" for s in index.all("opsplan_backup_last_status")}
    targets = planned_targets(plan) + sorted(seen - set(planned_targets(plan)))
    failed = [tg for tg in targets if index.value("opsplan_backup_last_status", target=tg) == 0]
    reasons = failure_reasons(state_db, failed)
    rows = []
    for target in targets:
        status = index.value("opsplan_backup_last_status", target=target)
        success = index.value("opsplan_backup_last_success_timestamp_seconds", target=target)
        rows.append({
            "target": target,
            "target_name": _target_name(target, language),
            "ok": None if status is None else status == 1,
            "running": index.value("opsplan_backup_running", target=target) == 1,
            "last_success": fmt.iso_local(success or None, tz, sep=" ", timespec="minutes"),
            # as people read a time everywhere: '2026-11-30 10:05:16 KST' (KOREAN.md rule 8)
            "last_success_shown": fmt.local_time(success or None, tz, zone_name=True, missing=None),
            "age_shown": None if not success else fmt.age(now - success, language=language),
            "size_bytes": index.value("opsplan_backup_last_size_bytes", target=target),
            "reason": reason_text(reasons.get(target), language) if status == 0 else None,
            "empty_text": None if status is not None or success else _first_run(plan, target, now, language),
        })
    return rows


def _target_name(target: str, language: str) -> str:
    if target.startswith("model:"):
        return f"{t('status.model', language)} {target.removeprefix('model:')}"
    return label_value_text("target", target, language)


def _first_run(plan: Plan, target: str, now: float, language: str) -> str:
    if target != DATABASE:
        return t("status.no_backup_yet_change", language)
    at = next_fire(plan.backup.database.schedule, now, plan.timezone)
    return t("status.no_backup_yet_at", language, time=fmt.local_time(at, plan.timezone, zone_name=True,
                                                                        seconds=False))


def drill(plan: Plan, index: SampleIndex, now: float, language: str) -> dict[str, Any]:
    """The newest database restore drill against the plan's RTO/RPO, and the RPO achievable now."""
    tz, recovery = plan.timezone, plan.recovery
    status = index.value("opsplan_drill_last_status", target=DATABASE)
    when = index.value("opsplan_drill_last_timestamp_seconds", target=DATABASE)
    rto = index.value("opsplan_drill_last_rto_seconds", target=DATABASE)
    rpo = index.value("opsplan_drill_last_rpo_seconds", target=DATABASE)
    current = index.value("opsplan_backup_rpo_seconds", target=DATABASE)
    schedule = recovery.drill_schedule or plan.checks.quarterly.schedule
    return {
        "ran": status is not None,
        "passed": status == 1,
        "when_shown": fmt.local_time(when, tz, zone_name=True, missing=None),
        "empty_text": None if status is not None else t(
            "status.no_drill_yet", language,
            time=fmt.local_time(next_fire(schedule, now, tz), tz, zone_name=True, seconds=False)),
        "rows": [_against(t("status.rto", language), rto, recovery.rto, language),
                 _against(t("status.rpo", language), rpo, recovery.rpo, language),
                 _against(t("status.current_rpo", language), current, recovery.rpo, language)],
    }


def _against(label: str, measured: float | None, target: float, language: str) -> dict[str, Any]:
    return {"label": label,
            "measured_shown": fmt.duration(measured, language=language, missing=t("status.not_measured", language)),
            "target_shown": fmt.duration(target, language=language),
            "within": None if measured is None else measured <= target}
