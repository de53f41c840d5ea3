"""`opsplan backup ...`: the database (mariabackup) commands and the model/config commands share one group."""

from __future__ import annotations

import typer

from opsplan.cli import backup_db_cmd, backup_files_cmd
from opsplan.cli.language import help_text

backup_app = typer.Typer(no_args_is_help=True, help=help_text("help.backup"))
backup_db_cmd.register(backup_app)
backup_files_cmd.register(backup_app)


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
