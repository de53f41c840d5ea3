"""A toy runbook for the engine's tests: its steps touch real files in a directory from the params.

Step i (1..steps) writes `step<i>.txt` (remembering what was there in ctx.state) and appends
"do <i>" to `calls.log`; its undo puts the old content back and appends "undo <i>". Params:
  dir          the directory (a tmp_path)
  steps        how many steps (default 4)
  fail_at      the step whose action fails (returns ok=False)
  raise_at     the step whose action raises (the message includes the params' password, if any)
  check_fail_at the step whose check fails
  pause_at     the step that writes `paused.<i>` and waits until `release` exists (to be killed)
  destructive_at the step that asks for confirmation
  undo_fail_at the step whose undo fails
  undo_pause_at the step whose undo writes `undo_paused.<i>` and waits until `release` exists
  inspect      when true, each step records its own journal row's status in data["seen_<i>"]
Register it with `register()` (kind "toy-files"); the builder is `runbook_toys:build`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from opsplan.plan.models import Text
from opsplan.runbooks import registry
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult

KIND = "toy-files"


def register() -> None:
    registry.register_builder(KIND, "runbook_toys:build")


def _log(directory: Path, line: str) -> None:
    with (directory / "calls.log").open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def calls(directory: Path) -> list[str]:
    path = directory / "calls.log"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _step(i: int, params: dict[str, Any], state_db: Any) -> Step:
    directory = Path(params["dir"])
    target = directory / f"step{i}.txt"

    def action(ctx: RunContext) -> StepResult:
        _log(directory, f"do {i}")
        data: dict[str, Any] = {f"step{i}_done": True}
        if params.get("inspect"):
            from opsplan.runbooks.journal import show_run

            own = [s for s in show_run(state_db, ctx.run_id)["steps"] if s["name"] == f"step{i}"]
            data[f"seen_{i}"] = own[-1]["status"] if own else None
        # Idempotent: the content before the *first* attempt is what undo puts back.
        key = f"before_{i}"
        if key not in ctx.state:
            ctx.state[key] = target.read_text(encoding="utf-8") if target.exists() else None
        target.write_text(f"written by step {i}\n", encoding="utf-8")
        if params.get("pause_at") == i:
            (directory / f"paused.{i}").write_text("", encoding="utf-8")
            while not (directory / "release").exists():
                time.sleep(0.05)
        if params.get("raise_at") == i:
            raise RuntimeError(f"step {i} broke (password was {params.get('password')})\nsecond line")
        if params.get("fail_at") == i:
            return StepResult(False, f"step {i} failed on purpose", data)
        ctx.log(f"step {i} wrote {target}")
        return StepResult(True, f"wrote {target}", data)

    def check(ctx: RunContext) -> StepResult:
        if params.get("check_fail_at") == i:
            return StepResult(False, f"check of step {i} failed")
        return StepResult(target.exists(), f"{target.name} present")

    def undo(ctx: RunContext) -> StepResult:
        _log(directory, f"undo {i}")
        if params.get("undo_pause_at") == i:
            (directory / f"undo_paused.{i}").write_text("", encoding="utf-8")
            while not (directory / "release").exists():
                time.sleep(0.05)
        if params.get("undo_fail_at") == i:
            return StepResult(False, f"undo of step {i} failed on purpose")
        before = ctx.state.get(f"before_{i}")
        if before is None:
            target.unlink(missing_ok=True)
        else:
            target.write_text(before, encoding="utf-8")
        return StepResult(True, f"restored {target.name}")

    return Step(name=f"step{i}", title=Text(ko=f"{i}단계: 파일 쓰기", en=f"Step {i}: write a file"),
                action=action, check=check, undo=undo,
                describe=lambda ctx: [f"write {target}"],
                destructive=params.get("destructive_at") == i)


def build(plan: Any, state_db: Any, params: dict[str, Any], *, environ: Any = None, clock: Any = None) -> Runbook:
    count = int(params.get("steps", 4))
    directory = Path(params["dir"])

    def finally_(ctx: RunContext) -> None:
        _log(directory, "finally")

    return Runbook(kind=KIND, title=Text(ko="장난감 런북", en="Toy runbook"),
                   steps=[_step(i, params, state_db) for i in range(1, count + 1)], finally_=finally_)
