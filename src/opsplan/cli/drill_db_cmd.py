"""`opsplan drill db [--json] [--keep] [--backup ID] [--dry-run]`: the database restore drill (seed §2.2)."""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console

from opsplan import format as fmt
from opsplan.cli.common import one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.i18n import t


def _summary(result: dict[str, Any], lang: str) -> list[str]:
    from opsplan.runbooks.drill.report import phases_text

    if result.get("status") not in ("ok", "failed") or "phases" not in result:
        return [f"{result.get('kind')} {result.get('run_id')}: {result.get('status')} {result.get('reason') or ''}"]
    lines = []
    if result["status"] == "ok":
        def met(value: bool | None) -> str:
            return "-" if value is None else t("drill.met" if value else "drill.missed", lang)
        lines.append(t("drill.summary", lang, status=t("drill.passed", lang),
                       rto=fmt.duration(result["rto_seconds"], language=lang),
                       rto_target=fmt.duration(result["targets"]["rto_seconds"], language=lang),
                       rto_met=met(result["rto_met"]), rpo=fmt.duration(result["rpo_seconds"], language=lang),
                       rpo_target=fmt.duration(result["targets"]["rpo_seconds"], language=lang),
                       rpo_met=met(result["rpo_met"])))
    else:
        lines.append(t("drill.summary.failed", lang, step=result["failed_step"], reason=result["reason"] or "-"))
    lines.append(t("drill.summary.phases", lang, phases=phases_text(result["phases"], lang)))
    lines += [f"  {x['name']}: {'; '.join(x['problems'])}" for x in result.get("tables", []) if not x["ok"]][:20]
    if result.get("report"):
        lines.append(t("drill.summary.report", lang, path=result["report"]))
    return lines


def drill_db(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help=help_text("help.result_json")),
    keep: bool = typer.Option(False, "--keep", help=help_text("help.drill.keep")),
    backup: int | None = typer.Option(None, "--backup", metavar="ID",
                                      help=help_text("help.drill.backup")),
    dry_run: bool = typer.Option(False, "--dry-run", help=help_text("help.dry_run")),
) -> None:
    """Restore the newest backup chain into a scratch server, check every table, measure RTO and RPO."""
    from opsplan.runbooks.drill.database import run_drill

    plan = plan_from(ctx)
    params: dict[str, Any] = {"keep": keep, "backup_id": backup}
    with one_line_errors(), state_db(plan) as db:
        console = Console(stderr=True, highlight=False, soft_wrap=True) if as_json else out
        result = run_drill(plan, db, params, environ=os.environ, console=console, dry_run=dry_run)
    if as_json:
        print_json({"timezone": plan.timezone, **result})
    elif not dry_run:
        for line in _summary(result, plan.language):
            out.print(line, markup=False)
    ok = result.get("status") in ("ok", "dry_run")
    raise typer.Exit(0 if ok else 1)


def register(group: typer.Typer) -> None:
    """Add `drill db` to the drill group."""
    group.command("db", help=help_text("help.cmd.drill_db"))(drill_db)
