"""`opsplan drill model NAME`: restore a stored model version into a scratch directory, validate
it and (with a test slot) test its performance; never touches the serving link."""

from __future__ import annotations

import typer
from rich.console import Console

from opsplan.cli.common import one_line_errors, out, plan_from, state_db
from opsplan.cli.language import help_text


def drill_model(ctx: typer.Context,
                name: str = typer.Argument(..., help=help_text("help.model_name")),
                version: str = typer.Option(None, "--version", help=help_text("help.drill.model_version")),
                as_json: bool = typer.Option(False, "--json", help=help_text("help.machine_result"))) -> None:
    """Prove a stored model version restores and validates, and how long that takes."""
    from opsplan.cli.runbook_cmd import run_and_report
    from opsplan.i18n import t
    from opsplan.runbooks.drill.model import run_drill
    from opsplan.runbooks.drill.report import phases_text
    from opsplan.runbooks.engine import RunbookEngine

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        engine = RunbookEngine(plan, db, console=Console(stderr=True) if as_json else out)
        outcome, report = run_drill(plan, db, name, version=version, engine=engine)
    if not as_json:
        key = "drill.model.passed" if report["passed"] else "drill.model.failed"
        out.print(t(key, plan.language, model=name, version=report["version"] or "-",
                    phases=phases_text(report["phases"], plan.language)), markup=False)
    raise typer.Exit(run_and_report(outcome, as_json=as_json, language=plan.language, timezone=plan.timezone,
                                    extra=report))


def register(group: typer.Typer) -> None:
    """Add this module's commands to its group."""
    group.command("model", help=help_text("help.cmd.drill_model"))(drill_model)
