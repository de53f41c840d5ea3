"""The short report a drill leaves: `<data_dir>/reports/drill-db-<local time>-<run>.md`, in the plan's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsplan import format as fmt
from opsplan.fsutil import private_dir, write_private_text
from opsplan.i18n import t
from opsplan.plan.models import Plan


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
        f"- RPO: {fmt.duration(result['rpo_seconds'])} ({t('drill.report.target', lang)} "
        f"{fmt.duration(result['targets']['rpo_seconds'])}, {met(result['rpo_met'])})",
        f"- RTO: {fmt.duration(result['rto_seconds'])} ({t('drill.report.target', lang)} "
        f"{fmt.duration(result['targets']['rto_seconds'])}, {met(result['rto_met'])})",
        f"- {t('drill.report.service', lang)}: {fmt.duration(result['time_to_service_seconds'])}",
    ]
    if result["status"] != "ok":
        lines.append(f"- {t('drill.report.failed_step', lang)}: {result['failed_step']}: {result['reason'] or '-'}")
    lines += ["", f"## {t('drill.report.phases', lang)}", "", "| phase | s |", "|---|---:|"]
    lines += [f"| {name} | {fmt.number(value)} |" for name, value in result["phases"].items()]
    tables = result["tables"]
    failed = [x for x in tables if not x["ok"]]
    lines += ["", f"## {t('drill.report.tables', lang, checked=len(tables), failed=len(failed))}", ""]
    if failed:
        lines += ["| table | CHECK TABLE | rows | checksum | problem |", "|---|---|---|---|---|"]
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
