"""The short report a drill leaves: `<data_dir>/reports/drill-db-<local time>-<run>.md`, in the plan's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsplan import format as fmt
from opsplan.fsutil import private_dir, write_private_text
from opsplan.i18n import t
from opsplan.plan.models import Plan

# A drill's phases by their ids (database drill PHASES, model drill step names): literal catalogue keys.
_PHASE_KEY = {"hashes": "drill.phase.hashes", "unpack": "drill.phase.unpack", "prepare": "drill.phase.prepare",
              "copy_back": "drill.phase.copy_back", "start": "drill.phase.start", "replay": "drill.phase.replay",
              "verify": "drill.phase.verify", "restore_version": "drill.phase.restore_version",
              "validate_model": "drill.phase.validate_model", "performance_test": "drill.phase.performance_test"}


def phase_name(name: str, lang: str) -> str:
    """A phase as a person reads it: '압축 해제' for unpack; an unknown id stays as it is."""
    return t(_PHASE_KEY[name], lang) if name in _PHASE_KEY else name


def phases_text(phases: dict[str, float | None], lang: str) -> str:
    """'압축 해제 2.5초, 준비 1초' / 'unpack 2.5s, prepare 1.0s'."""
    return fmt.phases({phase_name(name, lang): value for name, value in phases.items()}, language=lang)


def render(plan: Plan, result: dict[str, Any]) -> str:
    lang, tz = plan.language, plan.timezone

    def met(value: bool | None) -> str:
        return "-" if value is None else t("drill.met" if value else "drill.missed", lang)

    status = t("drill.passed" if result["status"] == "ok" else "drill.failed", lang)
    lines = [
        f"# {t('drill.title', lang)}",
        "",
        f"- {t('drill.report.status', lang)}: **{status}**",
        f"- {t('drill.report.started', lang)}: {fmt.local_time(result['started_at'], tz, zone_name=True)}",
        f"- {t('drill.report.backups', lang)}: {', '.join(f'#{i}' for i in result['backup_ids']) or '-'}",
    ]
    if result.get("binlogs_replayed"):
        lines.append(f"- {t('drill.report.binlogs', lang)}: {', '.join(result['binlogs_replayed'])}")
    lines += [
        f"- {t('drill.report.point', lang)}: {fmt.local_time(result['restorable_point'], tz, zone_name=True)}",
        f"- RPO: {fmt.duration(result['rpo_seconds'], language=lang)} ({t('drill.report.target', lang)} "
        f"{fmt.duration(result['targets']['rpo_seconds'], language=lang)}, {met(result['rpo_met'])})",
        f"- RTO: {fmt.duration(result['rto_seconds'], language=lang)} ({t('drill.report.target', lang)} "
        f"{fmt.duration(result['targets']['rto_seconds'], language=lang)}, {met(result['rto_met'])})",
        f"- {t('drill.report.service', lang)}: {fmt.duration(result['time_to_service_seconds'], language=lang)}",
    ]
    if result["status"] != "ok":
        lines.append(f"- {t('drill.report.failed_step', lang)}: {result['failed_step']}: {result['reason'] or '-'}")
    lines += ["", f"## {t('drill.report.phases', lang)}", "", t("drill.report.phase_columns", lang), "|---|---:|"]
    lines += [f"| {phase_name(name, lang)} | {fmt.number(value)} |" for name, value in result["phases"].items()]
    tables = result["tables"]
    failed = [x for x in tables if not x["ok"]]
    lines += ["", f"## {t('drill.report.tables', lang, checked=len(tables), failed=len(failed))}", ""]
    if failed:
        lines += [t("drill.report.table_columns", lang), "|---|---|---|---|---|"]
        for x in failed:
            lines.append(f"| {x['name']} | {x['check_status']} | {x['rows_actual']} / {x['rows_expected']} | "
                         f"{x['checksum_actual']} / {x['checksum_expected']} | {'; '.join(x['problems'])} |")
    else:
        lines.append(t("drill.report.all_ok", lang) if tables else "-")
    return "\n".join(lines) + "\n"


def write_report(plan: Plan, result: dict[str, Any], now: float) -> Path:
    stamp = fmt.file_stamp(now, plan.timezone)
    directory = private_dir(Path(plan.data_dir) / "reports")
    path = directory / f"drill-db-{stamp}-{result['run_id']}.md"
    write_private_text(path, render(plan, result))
    return path
