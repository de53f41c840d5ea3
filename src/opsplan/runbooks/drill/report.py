"""The short report a drill leaves: `<data_dir>/reports/drill-db-<local time>-<run>.md`, in the plan's language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from opsplan.fsutil import private_dir, write_private_text
from opsplan.i18n import t
from opsplan.plan.models import Plan


def duration(seconds: float | None) -> str:
    """90061 -> '1d 1h 1m 1s'; 2.5 -> '2.5s'; None -> '-'."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        value, whole = divmod(whole, size)
        if value:
            parts.append(f"{value}{unit}")
    return " ".join(parts)


def local(ts: float | None, timezone: str) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def render(plan: Plan, result: dict[str, Any]) -> str:
    lang, tz = plan.language, plan.timezone

    def met(value: bool | None) -> str:
        return "-" if value is None else t("drill.met" if value else "drill.missed", lang)

    status = t("drill.passed" if result["status"] == "ok" else "drill.failed", lang)
    lines = [
        f"# {t('drill.title', lang)}",
        "",
        f"- {t('drill.report.status', lang)}: **{status}**",
        f"- {t('drill.report.started', lang)}: {local(result['started_at'], tz)}",
        f"- {t('drill.report.backups', lang)}: {', '.join(f'#{i}' for i in result['backup_ids']) or '-'}",
    ]
    if result.get("binlogs_replayed"):
        lines.append(f"- {t('drill.report.binlogs', lang)}: {', '.join(result['binlogs_replayed'])}")
    lines += [
        f"- {t('drill.report.point', lang)}: {local(result['restorable_point'], tz)}",
        f"- RPO: {duration(result['rpo_seconds'])} ({t('drill.report.target', lang)} "
        f"{duration(result['targets']['rpo_seconds'])}, {met(result['rpo_met'])})",
        f"- RTO: {duration(result['rto_seconds'])} ({t('drill.report.target', lang)} "
        f"{duration(result['targets']['rto_seconds'])}, {met(result['rto_met'])})",
        f"- {t('drill.report.service', lang)}: {duration(result['time_to_service_seconds'])}",
    ]
    if result["status"] != "ok":
        lines.append(f"- {t('drill.report.failed_step', lang)}: {result['failed_step']}: {result['reason'] or '-'}")
    lines += ["", f"## {t('drill.report.phases', lang)}", "", "| phase | s |", "|---|---:|"]
    lines += [f"| {name} | {'-' if value is None else f'{value:.1f}'} |" for name, value in result["phases"].items()]
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
    stamp = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(plan.timezone)).strftime("%Y%m%d-%H%M%S")
    directory = private_dir(Path(plan.data_dir) / "reports")
    path = directory / f"drill-db-{stamp}-{result['run_id']}.md"
    write_private_text(path, render(plan, result))
    return path
