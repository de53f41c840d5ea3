"""The runbook engine: runs a `Runbook` step by step, journaled, confirmed, undone on failure, resumable.

Order of writes (so the journal is right whatever kills the process): the run row before the
first step; each step's row before its action starts; the step's outcome and `ctx.state` right
after it. A failure (action ok=False or raising, or a failing check) undoes the failed step and
then every completed step, newest first, each journaled. See docs/recovery.md "## Runbooks".
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from sqlalchemy import select, update

from opsplan import format as fmt
from opsplan.errors import OpsplanError, RunbookError, in_language, said
from opsplan.fsutil import process_start_time
from opsplan.i18n import t
from opsplan.runbooks import audit
from opsplan.runbooks.display import StepDisplay
from opsplan.runbooks.journal import (
    DO,
    DRY_RUN,
    FAILED,
    INTERRUPTED,
    OK,
    PLAN,
    REFUSED,
    ROLLED_BACK,
    RUNNING,
    UNDO,
    RunbookRun,
    RunbookStepRow,
    from_json,
    list_runs,
    scrub,
    secret_values,
    show_run,
    step_dict,
    to_json,
)
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult, WouldRefuse
from opsplan.store.state import StateDB

__all__ = ["RunOutcome", "RunbookEngine", "default_actor", "list_runs", "show_run"]

FINALLY = "finally"
# The line that ends a run, by its status (literal catalogue keys, so the catalogue test sees them).
_OUTCOME_KEY = {OK: "runbook.outcome.ok", DRY_RUN: "runbook.outcome.dry_run", FAILED: "runbook.outcome.failed",
                ROLLED_BACK: "runbook.outcome.rolled_back", REFUSED: "runbook.outcome.refused"}
OUTPUT_LIMIT = 4000  # characters of a step's output kept in the journal


@dataclass
class RunOutcome:
    run_id: int
    kind: str
    status: str  # ok | failed | rolled_back | dry_run | refused
    failed_step: str | None = None
    reason: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (OK, DRY_RUN)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return json.loads(to_json(asdict(self)))  # masked, JSON-clean


def default_actor(environ: Mapping[str, str] = os.environ) -> str:
    """user@host; under sudo the person who ran sudo is named too (root alone says nothing)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    sudo_user = environ.get("SUDO_USER")
    who = f"{sudo_user} (sudo {user})" if sudo_user and sudo_user != user else user
    return f"{who}@{socket.gethostname()}"


def _first_line(exc: BaseException, language: str = "en") -> str:
    """The error's first line; in the plan's language when it came from the catalogue (errors.said),
    then with its `상세:` line, if it has one (the tool's own words, KOREAN.md rule 6)."""
    whole = in_language(exc, language).strip()
    lines = whole.splitlines()
    text = lines[0] if lines else ""
    detail = next((line for line in lines[1:] if line.startswith("상세:")), None)
    if detail is not None:
        text = f"{text}\n{detail}"
    if isinstance(exc, OpsplanError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def _terminal_confirm(prompt: str) -> bool:
    import typer

    return bool(typer.confirm(prompt, default=False))


class RunbookEngine:
    def __init__(self, plan: Any, state_db: StateDB, *, clock: Callable[[], float] | None = None,
                 actor: str | None = None, confirm: Callable[[str], bool] | None = None,
                 console: Console | None = None, environ: Mapping[str, str] = os.environ):
        import time

        self.plan = plan
        self.state_db = state_db
        self.clock = clock or time.time
        self.environ = environ
        self.actor = actor or default_actor(environ)
        self._confirm = confirm
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.display = StepDisplay(self.console)
        self.lang: str = getattr(plan, "language", "en")
        data_dir = getattr(plan, "data_dir", None)
        self.data_dir = None if data_dir is None else data_dir
        self._secrets: set[str] = set()

    # --- public ------------------------------------------------------------------------------------

    def run(self, runbook: Runbook, params: dict[str, Any], *, dry_run: bool = False,
            yes: bool = False, on_start: Callable[[int], None] | None = None) -> RunOutcome:
        """Run `runbook`; `on_start` is told the run's journal id as soon as its row exists (a page that
        started the run in a thread links to its progress)."""
        self._secrets = secret_values(params)
        title = runbook.title.get(self.lang)
        now = self.clock()
        with self.state_db.session() as session:
            row = RunbookRun(kind=runbook.kind, title=title, params=to_json(params), actor=self.actor,
                             status=RUNNING, dry_run=dry_run, pid=os.getpid(),
                             pid_started_at=process_start_time(), started_at=now, state="{}", data="{}")
            session.add(row)
            session.flush()
            run_id = row.id
        self._audit("dry_run" if dry_run else "run", runbook.kind, run_id, params, "started")
        if on_start is not None:
            on_start(run_id)
        ctx = RunContext(run_id=run_id, params=params, state={}, dry_run=dry_run, log=self._log,
                         clock=self.clock)
        if dry_run:
            return self._dry_run(runbook, ctx, params)
        self.display.line(t("runbook.start", self.lang, title=title, id=run_id, actor=self.actor), style="bold")
        return self._execute(runbook, ctx, params, start_at=0, completed=[], data={}, yes=yes)

    def resume(self, run_id: int, *, yes: bool = False) -> RunOutcome:
        """Continue an interrupted run: after its last completed step, or, when it died while undoing,
        finish the undo. Nothing is touched when it cannot go on (one-line RunbookError)."""
        from opsplan.runbooks import registry

        with self.state_db.session() as session:
            run = session.get(RunbookRun, run_id)
            if run is None:
                raise said(RunbookError, "reason.no_run", id=run_id)
            shown = run.shown_status()
            if shown == RUNNING:
                raise said(RunbookError, "reason.still_running", id=run_id, pid=run.pid)
            if shown != INTERRUPTED:
                raise said(RunbookError, "reason.not_interrupted", id=run_id, status=shown)
            kind, old_pid, old_started = run.kind, run.pid, run.pid_started_at
            params, state, data = from_json(run.params), from_json(run.state), from_json(run.data)
            rows = [step_dict(r) for r in session.scalars(
                select(RunbookStepRow).where(RunbookStepRow.run_id == run_id).order_by(RunbookStepRow.id)).all()]
        self._secrets = secret_values(params)
        try:
            runbook = registry.builder(kind)(self.plan, self.state_db, params, environ=self.environ,
                                             clock=self.clock)
        except OpsplanError:
            raise
        except Exception as exc:  # noqa: BLE001 - the builder's failure is the operator's one line
            raise RunbookError(f"cannot rebuild the {kind} runbook of run {run_id}: {_first_line(exc)}") from None
        done = [(r["position"], r["name"]) for r in rows if r["phase"] == DO and r["status"] == OK]
        for position, name in done:
            if position >= len(runbook.steps) or runbook.steps[position].name != name:
                raise RunbookError(f"the {kind} runbook no longer has step {name!r} at position {position + 1}; "
                                   f"run {run_id} cannot be resumed")
        completed = sorted({position for position, _ in done})
        undoing = any(r["phase"] == UNDO for r in rows)
        start_at = completed[-1] + 1 if completed else 0
        if not undoing:
            blocking = self._needs_terminal(runbook.steps[start_at:], yes)
            if blocking is not None:  # the run stays interrupted: `resume --yes` can still pick it up
                self._audit("confirm", kind, run_id, params, "refused",
                            detail=f"{blocking.name}: resume without a terminal and without --yes")
                raise RunbookError(t("runbook.refused.no_tty", self.lang, step=blocking.title.get(self.lang)))
        self._claim(run_id, old_pid, old_started)
        where = "undo" if undoing else f"from step {start_at + 1} of {len(runbook.steps)}"
        self._audit("resume", kind, run_id, params, "started", detail=where)
        ctx = RunContext(run_id=run_id, params=params, state=state, dry_run=False, log=self._log,
                         clock=self.clock)
        title = runbook.title.get(self.lang)
        if undoing:
            return self._resume_undo(runbook, ctx, rows, completed, data)
        self.display.line(t("runbook.resume", self.lang, title=title, id=run_id, step=start_at + 1,
                            total=len(runbook.steps)), style="bold")
        return self._execute(runbook, ctx, params, start_at=start_at, completed=completed, data=data, yes=yes)

    def _claim(self, run_id: int, old_pid: int | None, old_started: float | None) -> None:
        """Take the run over; a second `resume` started at the same moment finds the pid changed."""
        with self.state_db.session() as session:
            claimed = session.execute(  # type: ignore[attr-defined]
                update(RunbookRun).where(RunbookRun.id == run_id, RunbookRun.pid == old_pid,
                                         RunbookRun.pid_started_at == old_started)
                .values(pid=os.getpid(), pid_started_at=process_start_time(),
                        resumes=RunbookRun.resumes + 1)).rowcount
            if not claimed:
                raise RunbookError(f"run {run_id} was resumed by another process")
            now = self.clock()
            for row in session.scalars(select(RunbookStepRow).where(RunbookStepRow.run_id == run_id,
                                                                    RunbookStepRow.status == RUNNING)).all():
                row.status, row.finished_at = INTERRUPTED, now  # the step the dead process was in
                row.output = "the process running this step died; it runs again on resume"

    def _resume_undo(self, runbook: Runbook, ctx: RunContext, rows: list[dict[str, Any]], completed: list[int],
                     data: dict[str, Any]) -> RunOutcome:
        """The process died while undoing: undo what is not undone yet (newest first), then finish."""
        failed = next((r for r in rows if r["phase"] == DO and r["status"] == FAILED), None)
        undone = {r["position"] for r in rows if r["phase"] == UNDO and r["status"] == OK}
        positions = set(completed) | ({failed["position"]} if failed else set())
        to_undo = [p for p in sorted(positions, reverse=True) if p not in undone]
        self.display.line(t("runbook.resume_undo", self.lang, title=runbook.title.get(self.lang), id=ctx.run_id),
                          style="bold")
        failures = self._undo(runbook, ctx, to_undo, data)
        name = failed["name"] if failed else None
        reason = (failed["output"] if failed else None) or t("reason.interrupted_undoing", self.lang)
        if failures:
            names = ", ".join(failures)
            self.display.line(t("runbook.undo_failed", self.lang, steps=names), style="bold red")
            return self._finish(runbook, ctx, FAILED, name, t("reason.undo_failed", self.lang, reason=reason,
                                                              steps=names), data)
        return self._finish(runbook, ctx, ROLLED_BACK if failed else REFUSED, name, reason, data)

    def _needs_terminal(self, steps: list[Step], yes: bool) -> Step | None:
        """The first destructive step when nobody can be asked (no --yes, no terminal, no confirm hook)."""
        if yes or self._confirm is not None or _stdin_is_terminal():
            return None
        return next((step for step in steps if step.destructive), None)

    # --- running -----------------------------------------------------------------------------------

    def _execute(self, runbook: Runbook, ctx: RunContext, params: dict[str, Any], *, start_at: int,
                 completed: list[int], data: dict[str, Any], yes: bool) -> RunOutcome:
        steps = runbook.steps
        total = len(steps)
        # No terminal to ask on and no --yes: refuse before anything is done, not halfway through.
        blocking = self._needs_terminal(steps[start_at:], yes)
        if blocking is not None:
            refusal = t("runbook.refused.no_tty", self.lang, step=blocking.title.get(self.lang))
            self._audit("confirm", runbook.kind, ctx.run_id, params, "refused",
                        detail=f"{blocking.name}: no terminal and no --yes")
            self.display.line(refusal, style="red")
            return self._finish(runbook, ctx, REFUSED, blocking.name, refusal, data, run_finally=False)
        failed: int | None = None
        reason: str | None = None
        status = OK
        for position in range(start_at, total):
            step = steps[position]
            label = f"[{position + 1}/{total}] {step.title.get(self.lang)}"
            if step.destructive and not self._confirmed(runbook, ctx, params, step, yes):
                status, failed = REFUSED, position
                reason = t("runbook.refused.declined", self.lang, step=step.title.get(self.lang))
                self.display.line(reason, style="red")
                break
            result = self._run_step(ctx, step, position, DO, label)
            if isinstance(result.data, dict):
                data.update(result.data)
            self._save(ctx, data)
            if result.ok:
                completed.append(position)
                continue
            status, failed = FAILED, position
            reason = result.output or t("reason.failed", self.lang)
            break
        if failed is None:
            return self._finish(runbook, ctx, OK, None, None, data)
        # Undo: the failed step itself (it may have half-done its work), then every completed step.
        to_undo = ([failed] if status == FAILED else []) + sorted(completed, reverse=True)
        undo_failures = self._undo(runbook, ctx, to_undo, data)
        failed_name = steps[failed].name
        if undo_failures:
            names = ", ".join(undo_failures)
            self.display.line(t("runbook.undo_failed", self.lang, steps=names), style="bold red")
            reason = t("reason.undo_failed", self.lang, reason=reason, steps=names)
            return self._finish(runbook, ctx, FAILED, failed_name, reason, data)
        if status == FAILED:
            status = ROLLED_BACK  # every undo there was succeeded (a step without undo changed nothing to undo)
        return self._finish(runbook, ctx, status, failed_name, reason, data)

    def _run_step(self, ctx: RunContext, step: Step, position: int, phase: str, label: str) -> StepResult:
        fn = step.action if phase == DO else step.undo
        assert fn is not None
        started = self.clock()
        with self.state_db.session() as session:
            row = RunbookStepRow(run_id=ctx.run_id, position=position, name=step.name,
                                 title=step.title.get(self.lang), phase=phase, status=RUNNING,
                                 actor=self.actor, started_at=started, data="{}")
            session.add(row)
            session.flush()
            row_id = row.id
        with self.display.running(label):
            result = self._call(fn, ctx)
            if result.ok and phase == DO and step.check is not None:
                check = self._call(step.check, ctx)
                if not check.ok:
                    result = StepResult(False, check.output or t("reason.check_failed", self.lang),
                                        {**result.data, **check.data})
                else:
                    result = StepResult(True, "\n".join(x for x in (result.output, check.output) if x),
                                        {**result.data, **check.data})
        finished = self.clock()
        output = scrub(result.output, self._secrets) or ""
        result.output = output
        with self.state_db.session() as session:
            done = session.get(RunbookStepRow, row_id)
            assert done is not None
            done.status = OK if result.ok else FAILED
            done.finished_at = finished
            done.seconds = max(0.0, finished - started)
            done.output = output[:OUTPUT_LIMIT]
            done.data = to_json(result.data)
        seconds = fmt.seconds(max(0.0, finished - started), language=self.lang)
        if result.ok:
            self.display.line(t("runbook.step.ok", self.lang, label=label, seconds=seconds), style="green")
        else:
            self.display.line(t("runbook.step.failed", self.lang, label=label, seconds=seconds,
                                reason=output.splitlines()[0] if output else t("reason.failed", self.lang)),
                              style="bold red")
        return result

    def _call(self, fn: Callable[[RunContext], StepResult], ctx: RunContext) -> StepResult:
        try:
            result = fn(ctx)
        except KeyboardInterrupt:
            return StepResult(False, t("reason.interrupted", self.lang))
        except Exception as exc:  # noqa: BLE001 - a step's error is journaled as one line, no traceback
            return StepResult(False, _first_line(exc, self.lang))
        if not isinstance(result, StepResult):
            return StepResult(False, f"step returned {type(result).__name__}, not a StepResult")
        return result

    def _undo(self, runbook: Runbook, ctx: RunContext, positions: list[int], data: dict[str, Any]) -> list[str]:
        failures: list[str] = []
        total = len(runbook.steps)
        for position in positions:
            step = runbook.steps[position]
            if step.undo is None:
                continue
            label = t("runbook.undo.label", self.lang, n=position + 1, total=total, title=step.title.get(self.lang))
            result = self._run_step(ctx, step, position, UNDO, label)
            self._save(ctx, data)
            if not result.ok:
                failures.append(step.name)
        return failures

    def _confirmed(self, runbook: Runbook, ctx: RunContext, params: dict[str, Any], step: Step, yes: bool) -> bool:
        if yes:
            self._audit("confirm", runbook.kind, ctx.run_id, params, "yes", detail=f"{step.name}: --yes")
            return True
        prompt = t("runbook.confirm", self.lang, step=step.title.get(self.lang))
        try:
            answer = (self._confirm or _terminal_confirm)(prompt)
        except Exception:  # noqa: BLE001 - EOF or an aborted prompt is a no
            answer = False
        self._audit("confirm", runbook.kind, ctx.run_id, params, "yes" if answer else "no",
                    detail=f"{step.name}: asked")
        return bool(answer)

    def _dry_run(self, runbook: Runbook, ctx: RunContext, params: dict[str, Any]) -> RunOutcome:
        total = len(runbook.steps)
        self.display.line(t("runbook.dry_run.header", self.lang, title=runbook.title.get(self.lang)), style="bold")
        for position, step in enumerate(runbook.steps):
            refusal = None
            try:
                lines = [str(line) for line in step.describe(ctx)]
            except WouldRefuse as exc:  # the real run stops here: say so, and end the dry run refused
                refusal = t("runbook.dry_run.would_refuse", self.lang, reason=_first_line(exc, self.lang))
                lines = [refusal]
            except Exception as exc:  # noqa: BLE001
                lines = [t("runbook.dry_run.cannot_describe", self.lang, reason=_first_line(exc, self.lang))]
            lines = [scrub(line, self._secrets) or "" for line in lines]
            mark = t("runbook.dry_run.destructive", self.lang) if step.destructive else ""
            self.display.line(f"[{position + 1}/{total}] {step.title.get(self.lang)}{mark}", style="bold")
            for line in [] if refusal else lines:  # a refusal is shown once, by the outcome's summary
                self.display.line(f"    {line}")
            now = self.clock()
            with self.state_db.session() as session:
                session.add(RunbookStepRow(run_id=ctx.run_id, position=position, name=step.name,
                                           title=step.title.get(self.lang), phase=PLAN,
                                           status=REFUSED if refusal else DRY_RUN,
                                           actor=self.actor, started_at=now, finished_at=now, seconds=0.0,
                                           output="\n".join(lines)[:OUTPUT_LIMIT], data="{}"))
            if refusal is not None:
                return self._finish(runbook, ctx, REFUSED, step.name, refusal, {}, run_finally=False)
        return self._finish(runbook, ctx, DRY_RUN, None, None, {}, run_finally=False)

    # --- bookkeeping -------------------------------------------------------------------------------

    def _finish(self, runbook: Runbook, ctx: RunContext, status: str, failed_step: str | None,
                reason: str | None, data: dict[str, Any], *, run_finally: bool = True) -> RunOutcome:
        if runbook.finally_ is not None and run_finally and not ctx.dry_run:
            self._run_finally(runbook, ctx)
        reason = scrub(reason, self._secrets)
        with self.state_db.session() as session:
            row = session.get(RunbookRun, ctx.run_id)
            assert row is not None
            row.status, row.failed_step, row.reason = status, failed_step, reason
            row.finished_at = self.clock()
            row.state, row.data = to_json(ctx.state), to_json(data)
        self._audit("dry_run" if ctx.dry_run else "run", runbook.kind, ctx.run_id, ctx.params, status,
                    detail=reason if failed_step is None else f"{failed_step}: {reason}")
        steps = show_run(self.state_db, ctx.run_id)["steps"]
        self.display.line(t(_OUTCOME_KEY[status], self.lang, id=ctx.run_id, step=self._step_named(runbook, failed_step),
                            reason=reason or ""), style="bold green" if status in (OK, DRY_RUN) else "bold red")
        return RunOutcome(run_id=ctx.run_id, kind=runbook.kind, status=status, failed_step=failed_step,
                          reason=reason, steps=steps, data=data, state=ctx.state)

    def _step_named(self, runbook: Runbook, name: str | None) -> str:
        """A failed step as a person reads it: in Korean its title with the id after it, to search
        the journal with ('복원할 백업 체인 선택 (select_chain)'); in English the id, as always."""
        step = next((s for s in runbook.steps if s.name == name), None)
        if name is None or step is None or self.lang == "en":
            return name or ""
        return f"'{step.title.get(self.lang)}' ({name})"

    def _run_finally(self, runbook: Runbook, ctx: RunContext) -> None:
        assert runbook.finally_ is not None
        started = self.clock()
        try:
            runbook.finally_(ctx)
            status, output = OK, ""
        except Exception as exc:  # noqa: BLE001 - journaled; never turns a success into a traceback
            status, output = FAILED, scrub(_first_line(exc), self._secrets) or ""
            self.display.line(t("runbook.finally_failed", self.lang, reason=output), style="red")
        finished = self.clock()
        with self.state_db.session() as session:
            session.add(RunbookStepRow(run_id=ctx.run_id, position=len(runbook.steps), name=FINALLY,
                                       title=FINALLY, phase=FINALLY, status=status, actor=self.actor,
                                       started_at=started, finished_at=finished,
                                       seconds=max(0.0, finished - started), output=output, data="{}"))

    def _save(self, ctx: RunContext, data: dict[str, Any]) -> None:
        with self.state_db.session() as session:
            row = session.get(RunbookRun, ctx.run_id)
            assert row is not None
            row.state, row.data = to_json(ctx.state), to_json(data)

    def _log(self, line: str) -> None:
        self.display.line(scrub(str(line), self._secrets) or "")

    def _audit(self, action: str, kind: str, run_id: int, params: dict[str, Any], outcome: str,
               detail: str | None = None) -> None:
        audit.record(self.state_db, self.data_dir, at=self.clock(), actor=self.actor, action=action, kind=kind,
                     run_id=run_id, arguments=params, outcome=outcome, detail=scrub(detail, self._secrets))
