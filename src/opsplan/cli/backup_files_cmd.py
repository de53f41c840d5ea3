"""Commands of the `opsplan backup` group (filled in by the backup stage)."""

from __future__ import annotations

import typer


def register(group: typer.Typer) -> None:
    """Add this module's commands to the `opsplan backup` group."""
