"""`opsplan runbook list|show|resume` (filled in by the recovery stage)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `runbook` group."""
