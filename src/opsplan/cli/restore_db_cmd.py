"""`opsplan restore db [--backup ID | --time "2026-11-20 14:00"] [--target-datadir DIR --target-port N]`."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from opsplan.cli.common import fail, one_line_errors, out, plan_from, state_db
from opsplan.cli.language import CLI_LANGUAGE, help_text
from opsplan.i18n import t

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def parse_time(text: str, timezone: str) -> float:
    """A wall-clock time in the plan's timezone (or with an explicit offset) as UTC epoch seconds."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        parsed = None
        for fmt in TIME_FORMATS:
            try:
                parsed = datetime.strptime(text.strip(), fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(f"--time {text!r}: expected e.g. \"2026-11-20 14:00\" (in {timezone})")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.timestamp()


def restore_db(
    ctx: typer.Context,
    backup: int | None = typer.Option(None, "--backup", metavar="ID", help=help_text("help.restore.backup")),
    when: str | None = typer.Option(None, "--time", metavar="TIME",
                                    help=help_text("help.restore.until")),
    target_datadir: Path | None = typer.Option(None, "--target-datadir", metavar="DIR",
                                               help=help_text("help.restore.target_datadir")),
    target_port: int | None = typer.Option(None, "--target-port", metavar="N", min=1, max=65535,
                                           help=help_text("help.restore.check_port")),
    dry_run: bool = typer.Option(False, "--dry-run", help=help_text("help.dry_run")),
    yes: bool = typer.Option(False, "--yes", "-y", help=help_text("help.yes_scripts")),
    as_json: bool = typer.Option(False, "--json", help=help_text("help.result_json")),
) -> None:
    """Restore the database (seed §4.2): stop the service, restore, verify, restart."""
    from opsplan.cli.runbook_cmd import run_and_report
    from opsplan.runbooks.engine import RunbookEngine
    from opsplan.runbooks.restore.database import build

    plan = plan_from(ctx)
    if backup is not None and when is not None:
        fail(t("cli.error.backup_or_time", CLI_LANGUAGE), code=2)
    if target_port is not None and target_datadir is None:
        fail(t("cli.error.port_needs_datadir", CLI_LANGUAGE), code=2)
    params: dict[str, Any] = {"backup_id": backup, "time": None, "time_text": None,
                              "target_datadir": str(target_datadir.absolute()) if target_datadir else None,
                              "target_port": target_port}
    if when is not None:
        try:
            params["time"] = parse_time(when, plan.timezone)
        except ValueError as exc:
            fail(str(exc), code=2)
        params["time_text"] = f"{when} ({plan.timezone})"
    with one_line_errors(), state_db(plan) as db:
        runbook = build(plan, db, params, environ=os.environ)
        engine = RunbookEngine(plan, db, console=Console(stderr=True) if as_json else out)
        outcome = engine.run(runbook, params, dry_run=dry_run, yes=yes)
    extra = {"backup_id": outcome.data.get("backup_id"), "target_datadir": params["target_datadir"]}
    raise typer.Exit(run_and_report(outcome, as_json=as_json, language=plan.language, timezone=plan.timezone,
                                    extra=extra))


def register(group: typer.Typer) -> None:
    """Add `restore db` to the `restore` group."""
    group.command("db", help=help_text("help.cmd.restore_db"))(restore_db)
