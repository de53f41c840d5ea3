"""`opsplan runbook list|show|resume`, and `run_and_report`, which every restore/drill command uses
to print a run's result the same way (exit code 0 for ok or dry run, 1 otherwise)."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from opsplan import format as fmt
from opsplan.cli.common import one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.i18n import t
from opsplan.runbooks.names import status_text

runbook_app = typer.Typer(no_args_is_help=True,
                          help=help_text("help.runbook"))

TIME_KEYS = ("started_at", "finished_at")


# A run's kind: in Korean its name with the id after it, to search the journal with (KOREAN.md rule 5).
_KIND_KEY = {"restore-db": "runbook.kind.restore_db", "restore-model": "runbook.kind.restore_model",
             "drill-db": "runbook.kind.drill_db", "drill-model": "runbook.kind.drill_model"}


def _kind(kind: str, lang: str) -> str:
    return f"{t(_KIND_KEY[kind], lang)} ({kind})" if kind in _KIND_KEY and lang != "en" else kind


def _localise_times(item: dict[str, Any], tz: str) -> dict[str, Any]:
    """JSON for scripts: times as ISO 8601 in the plan's timezone (with the offset)."""
    result = dict(item)
    for key in TIME_KEYS:
        if key in result:
            result[key] = fmt.iso_local(result[key], tz)
    if isinstance(result.get("steps"), list):
        result["steps"] = [_localise_times(step, tz) for step in result["steps"]]
    return result


def _lines(header: str, rows: list[list[str]], console: Console) -> None:
    # Plain " | " lines: a path or a reason must never be cut to fit the terminal.
    console.print(" | ".join(header.split("|")), markup=False, highlight=False, style="bold")
    for row in rows:
        console.print(" | ".join(row), markup=False, highlight=False)


def run_and_report(outcome: Any, *, as_json: bool = False, console: Console | None = None,
                   language: str = "en", timezone: str = "UTC", extra: dict[str, Any] | None = None) -> int:
    """Print a finished run (a RunOutcome) the same way for every command; returns the exit code.

    The live step lines were already shown by the engine; here: the JSON document (`--json`: the
    outcome plus `extra`, e.g. a drill's rpo_seconds) or a one-line summary with the journal id.
    Use as `raise typer.Exit(run_and_report(outcome, ...))`.
    """
    console = console or out
    if as_json:
        document = {**outcome.to_dict(), **(extra or {})}
        document["timezone"] = timezone
        print_json(_localise_times(document, timezone))
    else:
        console.print(f"{outcome.kind} #{outcome.run_id}: {status_text(outcome.status, language)}"
                      + (f" ({outcome.failed_step}: {outcome.reason})" if outcome.failed_step else ""),
                      markup=False, highlight=False)
    return int(outcome.exit_code)


def register(app: typer.Typer) -> None:
    """Add the `runbook` group."""
    app.add_typer(runbook_app, name="runbook")


@runbook_app.command("list", help=help_text("help.cmd.runbook_list"))
def list_command(ctx: typer.Context,
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine")),
                 limit: int = typer.Option(50, "--limit", min=1, help=help_text("help.runbook.limit"))) -> None:
    """The newest runs first; a run whose process died shows as interrupted (resumable)."""
    from opsplan.runbooks.journal import list_runs

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    with one_line_errors(), state_db(plan) as db:
        runs = list_runs(db, limit=limit)
    if as_json:
        print_json({"timezone": tz, "count": len(runs), "runs": [_localise_times(r, tz) for r in runs]})
        return
    if not runs:
        out.print(t("runbook.list.empty", lang), markup=False)
        return
    _lines(t("runbook.list.columns", lang),
           [[str(r["id"]), _kind(r["kind"], lang), status_text(r["status"], lang),
             fmt.local_time(r["started_at"], tz, zone_name=lang == "ko"),
             fmt.took(r["seconds"], language=lang), r["actor"], r["failed_step"] or "-",
             (r["reason"] or "-").splitlines()[0] if r["reason"] else "-"]
            for r in runs], out)


@runbook_app.command("show", help=help_text("help.cmd.runbook_show"))
def show_command(ctx: typer.Context, run_id: int = typer.Argument(..., metavar="ID"),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.machine"))) -> None:
    """One run: who ran it, the arguments, and every step and undo with its output and duration."""
    from opsplan.runbooks.journal import show_run

    plan = plan_from(ctx)
    lang, tz = plan.language, plan.timezone
    with one_line_errors(), state_db(plan) as db:
        run = show_run(db, run_id)
    if as_json:
        print_json({"timezone": tz, **_localise_times(run, tz)})
        return
    out.print(f"#{run['id']} {run['title'] or run['kind']} ({run['kind']}): {status_text(run['status'], lang)}",
              markup=False, highlight=False, style="bold")
    out.print(f"{run['actor']}  {fmt.local_time(run['started_at'], tz)} → {fmt.local_time(run['finished_at'], tz)} "
              f"({fmt.took(run['seconds'], language=lang)})  {tz}", markup=False, highlight=False)
    out.print(json.dumps(run["params"], ensure_ascii=False, sort_keys=True), markup=False, highlight=False)
    if run["reason"]:
        out.print(f"{run['failed_step'] or ''}: {run['reason']}", markup=False, highlight=False, style="red")
    rows = []
    for step in run["steps"]:
        marker = {"undo": "↩ ", "plan": "", "finally": "∎ "}.get(step["phase"], "")
        first = (step["output"] or "").splitlines()
        status = (t("runbook.step_interrupted", lang) if step["status"] == "interrupted"
                  else status_text(step["status"], lang))
        number = "-" if step["phase"] == "finally" else str(step["position"] + 1)
        rows.append([number, f"{marker}{step['title'] or step['name']}",
                     status, fmt.local_time(step["started_at"], tz), fmt.took(step["seconds"], language=lang),
                     " / ".join(first[:3]) if first else "-"])
    _lines(t("runbook.show.columns", lang), rows, out)


@runbook_app.command("resume", help=help_text("help.cmd.runbook_resume"))
def resume_command(ctx: typer.Context, run_id: int = typer.Argument(..., metavar="ID"),
                   yes: bool = typer.Option(False, "--yes", "-y", help=help_text("help.yes")),
                   as_json: bool = typer.Option(False, "--json", help=help_text("help.machine_result"))) -> None:
    """Continue an interrupted run from the step it was in (that step runs again: steps are idempotent)."""
    from opsplan.runbooks.engine import RunbookEngine

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        engine = RunbookEngine(plan, db, console=Console(stderr=True) if as_json else out)
        outcome = engine.resume(run_id, yes=yes)
    raise typer.Exit(run_and_report(outcome, as_json=as_json, language=plan.language, timezone=plan.timezone))
