"""`opsplan restore model NAME`: roll a model back to a stored version (seed §4.2), see
runbooks/rollback/model.py for the four steps."""

from __future__ import annotations

import typer
from rich.console import Console

from opsplan.cli.common import one_line_errors, out, plan_from, state_db
from opsplan.cli.language import help_text


def restore_model(ctx: typer.Context,
                  name: str = typer.Argument(..., help=help_text("help.model_name")),
                  version: str = typer.Option(None, "--version", help=help_text("help.restore.model_version")),
                  dry_run: bool = typer.Option(False, "--dry-run", help=help_text("help.restore.model_dry_run")),
                  yes: bool = typer.Option(False, "--yes", "-y", help=help_text("help.restore.model_yes")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.machine_result"))) -> None:
    """Restore a model version, validate it, test its performance, put it into service; any failure
    switches back to the version that was serving."""
    from opsplan.cli.runbook_cmd import run_and_report
    from opsplan.runbooks.engine import RunbookEngine
    from opsplan.runbooks.rollback.model import build

    plan = plan_from(ctx)
    params = {"model": name, **({"version": version} if version else {})}
    with one_line_errors(), state_db(plan) as db:
        import os

        runbook = build(plan, db, params, environ=os.environ)
        engine = RunbookEngine(plan, db, console=Console(stderr=True) if as_json else out)
        outcome = engine.run(runbook, params, dry_run=dry_run, yes=yes)
    st = outcome.state
    extra = {"model": name, "version": st.get("version") or outcome.data.get("version"),
             "serving_version": st.get("serving_version"), "candidate_dir": st.get("candidate_dir"),
             "perf": outcome.data.get("perf"), "baseline": outcome.data.get("baseline")}
    raise typer.Exit(run_and_report(outcome, as_json=as_json, language=plan.language, timezone=plan.timezone,
                                    extra=extra))


def register(group: typer.Typer) -> None:
    """Add this module's commands to its group."""
    group.command("model", help=help_text("help.cmd.restore_model"))(restore_model)
