"""`opsplan drill db|model`: the quarterly backup recovery test (seed §2.2), measuring RTO and RPO."""

from __future__ import annotations

import typer

from opsplan.cli import drill_db_cmd, drill_model_cmd
from opsplan.cli.language import help_text

drill_app = typer.Typer(no_args_is_help=True, help=help_text("help.drill"))
drill_db_cmd.register(drill_app)
drill_model_cmd.register(drill_app)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill")
