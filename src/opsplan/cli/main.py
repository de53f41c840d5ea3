"""The `opsplan` application: global options, then each command group registers itself."""

from __future__ import annotations

from pathlib import Path

import typer

from opsplan import __version__
from opsplan.cli import (
    alerts_cmd,
    audit_cmd,
    backup_cmd,
    check_cmd,
    collect_cmd,
    db_cmd,
    drill_cmd,
    export_cmd,
    fleet_cmd,
    incident_cmd,
    notify_cmd,
    oncall_cmd,
    plan_cmd,
    report_cmd,
    restore_cmd,
    runbook_cmd,
    serve_cmd,
    user_cmd,
)
from opsplan.cli.common import flags_take_no_value, setup_logging
from opsplan.cli.language import help_text, speak_help_in

flags_take_no_value()
speak_help_in()
app = typer.Typer(name="opsplan", no_args_is_help=True, add_completion=False,
                  help=help_text("help.main"))


def _version(value: bool) -> None:
    if value:
        print(f"opsplan {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(ctx: typer.Context,
                 plan: Path = typer.Option(None, "--plan", readable=False,
                                           help=help_text("help.main.plan")),
                 log_file: Path = typer.Option(None, "--log-file", help=help_text("help.main.log_file")),
                 verbose: bool = typer.Option(False, "--verbose", "-v", help=help_text("help.main.verbose")),
                 version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                              help=help_text("help.main.version"))) -> None:
    ctx.obj = {"plan_path": plan}
    setup_logging(log_file, verbose)


plan_cmd.register(app)
collect_cmd.register(app)
serve_cmd.register(app)
backup_cmd.register(app)
restore_cmd.register(app)
drill_cmd.register(app)
runbook_cmd.register(app)
alerts_cmd.register(app)
incident_cmd.register(app)
oncall_cmd.register(app)
export_cmd.register(app)
fleet_cmd.register(app)
notify_cmd.register(app)
audit_cmd.register(app)
user_cmd.register(app)
check_cmd.register(app)
report_cmd.register(app)
db_cmd.register(app)


def main() -> None:
    app()
