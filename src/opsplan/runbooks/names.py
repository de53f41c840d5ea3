"""A run's kind and status in words (literal catalogue keys), the same on the console, the command
line and an incident's timeline."""

from __future__ import annotations

from opsplan.i18n import t

KIND_KEY = {"restore-db": "runbook.kind.restore_db", "restore-model": "runbook.kind.restore_model",
            "drill-db": "runbook.kind.drill_db", "drill-model": "runbook.kind.drill_model"}
STATUS_KEY = {"ok": "runbook.status.ok", "failed": "runbook.status.failed",
              "rolled_back": "runbook.status.rolled_back", "dry_run": "runbook.status.dry_run",
              "refused": "runbook.status.refused", "running": "runbook.status.running",
              "interrupted": "runbook.status.interrupted"}


def kind_text(kind: str, lang: str) -> str:
    """In Korean the kind's name with its id after it, to search the journal with (KOREAN.md rule 5)."""
    if kind not in KIND_KEY:
        return kind
    return t(KIND_KEY[kind], lang) if lang == "en" else f"{t(KIND_KEY[kind], lang)} ({kind})"


def status_text(status: str, lang: str) -> str:
    """One not listed is shown as stored."""
    return t(STATUS_KEY[status], lang) if status in STATUS_KEY else status
