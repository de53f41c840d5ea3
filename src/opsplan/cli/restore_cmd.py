"""`opsplan restore db|model`: the seed's recovery procedures (§4.2)."""

from __future__ import annotations

import typer

from opsplan.cli import restore_db_cmd, restore_model_cmd
from opsplan.cli.language import help_text

restore_app = typer.Typer(no_args_is_help=True, help=help_text("help.restore"))
restore_db_cmd.register(restore_app)
restore_model_cmd.register(restore_app)


def register(app: typer.Typer) -> None:
    app.add_typer(restore_app, name="restore")
