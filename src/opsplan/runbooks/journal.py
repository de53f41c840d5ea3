"""The runbook journal in the state database: who ran what, when, with which arguments, the outcome.

A run row is written before the first step and each step row before its step starts, so a
process killed mid-step leaves a `running` row naming the step it was in. The run row carries the
pid and the process start time: a `running` run whose process is gone reads as "interrupted".
Params, state, outputs and data are stored with secrets masked (see `mask`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, false, select
from sqlalchemy.orm import Mapped, mapped_column

from opsplan.errors import RunbookError, said
from opsplan.fsutil import process_alive
from opsplan.masking import MASK, SECRET_KEY, mask
from opsplan.store.state import LONG_TEXT, Base, StateDB

RUNNING, OK, FAILED, ROLLED_BACK = "running", "ok", "failed", "rolled_back"
DRY_RUN, REFUSED, INTERRUPTED = "dry_run", "refused", "interrupted"
DO, UNDO, PLAN = "do", "undo", "plan"



class RunbookRun(Base):
    __tablename__ = "runbook_run"
    __table_args__ = (Index("ix_runbook_run_started", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    params: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    actor: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_step: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(LONG_TEXT)  # a failed step's whole output
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_started_at: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    resumes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[str] = mapped_column(LONG_TEXT, default="{}", server_default="{}")  # JSON of any size
    data: Mapped[str] = mapped_column(LONG_TEXT, default="{}", server_default="{}")

    def shown_status(self) -> str:
        """`running` only while the process that runs it is alive; otherwise it was interrupted."""
        if self.status == RUNNING and self.pid is not None and not process_alive(self.pid, self.pid_started_at):
            return INTERRUPTED
        return self.status


class RunbookStepRow(Base):
    __tablename__ = "runbook_step"
    __table_args__ = (Index("ix_runbook_step_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runbook_run.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # the step's index in the runbook (0-based)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text, default="", server_default="")
    phase: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float | None] = mapped_column(Float)
    output: Mapped[str | None] = mapped_column(LONG_TEXT)  # clipped, but `finally`'s is not
    data: Mapped[str] = mapped_column(LONG_TEXT, default="{}", server_default="{}")


# --- secrets -----------------------------------------------------------------------------------------

def secret_values(value: Any) -> set[str]:
    """Every string stored under a secret-named key (to scrub them out of free text)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and SECRET_KEY.search(k) and isinstance(v, str) and len(v) >= 3:
                found.add(v)
            else:
                found |= secret_values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found |= secret_values(v)
    return found


def scrub(text: str | None, secrets: set[str]) -> str | None:
    if text is None:
        return None
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def to_json(value: Any) -> str:
    return json.dumps(mask(value), ensure_ascii=False, sort_keys=True, default=str)


def from_json(text: str | None) -> Any:
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return {}


# --- reading -----------------------------------------------------------------------------------------

def _run_dict(run: RunbookRun) -> dict[str, Any]:
    return {
        "id": run.id, "kind": run.kind, "title": run.title, "params": from_json(run.params),
        "actor": run.actor, "status": run.shown_status(), "dry_run": bool(run.dry_run),
        "failed_step": run.failed_step, "reason": run.reason, "pid": run.pid,
        "started_at": run.started_at, "finished_at": run.finished_at,
        "seconds": None if run.finished_at is None else run.finished_at - run.started_at,
        "resumes": run.resumes,
    }


def step_dict(row: RunbookStepRow) -> dict[str, Any]:
    return {
        "position": row.position, "name": row.name, "title": row.title, "phase": row.phase,
        "status": row.status, "actor": row.actor, "started_at": row.started_at,
        "finished_at": row.finished_at, "seconds": row.seconds, "output": row.output,
        "data": from_json(row.data),
    }


def list_runs(state_db: StateDB, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs first; a `running` run whose process died is shown as `interrupted`."""
    with state_db.session() as session:
        runs = session.scalars(select(RunbookRun).order_by(RunbookRun.id.desc()).limit(limit)).all()
        return [_run_dict(run) for run in runs]


def show_run(state_db: StateDB, run_id: int) -> dict[str, Any]:
    """One run with every journal row (steps and undos) in the order they happened."""
    with state_db.session() as session:
        run = session.get(RunbookRun, run_id)
        if run is None:
            raise said(RunbookError, "reason.no_run", id=run_id)
        rows = session.scalars(select(RunbookStepRow).where(RunbookStepRow.run_id == run_id)
                               .order_by(RunbookStepRow.id)).all()
        result = _run_dict(run)
        result["state"] = from_json(run.state)
        result["data"] = from_json(run.data)
        result["steps"] = [step_dict(row) for row in rows]
        return result
