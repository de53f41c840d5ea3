"""The shape every runbook shares: ordered steps, each with its action, its check and its undo.

A procedure (restore the database, roll back a model, a drill) is a `Runbook`: a list of
`Step`s built for one run from the plan and the operator's arguments. The engine (engine.py)
journals each step in the state database before it starts, shows progress, asks before a
destructive step, and on failure runs the `undo` of the failed step and of every step before it,
newest first. Steps keep what later steps (or a resume) need in `ctx.state`, which is persisted
as JSON after every step: a step must be able to run again after an interruption (idempotent),
reading what it did from `ctx.state`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsplan.errors import RunbookError
from opsplan.i18n import t
from opsplan.plan.models import Text


def catalogue_text(key: str) -> Text:
    """A title the program defines (a runbook's, a step's), from the catalogue, as the plan's `Text`:
    titles are `Text` because the plan may give a recovery step its own title."""
    return Text(ko=t(key, "ko"), en=t(key, "en"))


class WouldRefuse(RunbookError):
    """Raised by a step's `describe` when the real run would refuse that step (e.g. an in-place
    restore with `database_service.kind: none`): the dry run says so and ends refused."""


@dataclass
class StepResult:
    ok: bool
    output: str = ""  # one or a few lines for the journal and the operator (never a secret)
    data: dict[str, Any] = field(default_factory=dict)  # figures for reports: timings, counts


@dataclass
class RunContext:
    run_id: int
    params: dict[str, Any]        # the operator's arguments (JSON-serialisable)
    state: dict[str, Any]         # what steps leave for later steps; persisted after each step
    dry_run: bool = False
    log: Callable[[str], None] = print  # progress lines for the operator (the engine routes them)
    clock: Callable[[], float] | None = None


@dataclass
class Step:
    name: str                                      # stable id: "stop_service", "restore_backup" ...
    title: Text                                    # what the operator reads (the seed's wording)
    action: Callable[[RunContext], StepResult]
    check: Callable[[RunContext], StepResult] | None = None   # run after the action; failing = step failed
    undo: Callable[[RunContext], StepResult] | None = None    # compensation when this or a later step fails
    describe: Callable[[RunContext], list[str]] = lambda ctx: []  # dry run: the real paths and commands
    destructive: bool = False                      # asks for confirmation (unless --yes)


@dataclass
class Runbook:
    kind: str                    # "restore-db", "restore-model", "drill-db", "drill-model"
    title: Text
    steps: list[Step]
    # Runs after the last step whatever happened (e.g. stop a scratch server); never undoes anything.
    finally_: Callable[[RunContext], None] | None = None
