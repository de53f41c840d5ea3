"""Commands of a recovery group (filled in by the recovery stage)."""

from __future__ import annotations

import typer


def register(group: typer.Typer) -> None:
    """Add this module's commands to its group."""
