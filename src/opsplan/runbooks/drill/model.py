"""`drill-model`: the quarterly recovery test (seed §2.2) for an AI model, never touching the
serving link.

1. restore the chosen version (default: the newest stored) into a scratch directory
   (`recovery.scratch_dir`, default `<backup.directory>/.scratch`), every file hash-checked;
2. validate it: every file against the manifest again, then the plan's validation command;
3. performance test, only when the plan gives the model a `test_slot` (a second server loading
   through its own link): switch that link to the scratch copy, reload, probe, run the requests,
   compare with the version's baseline (recorded here when there is none).
The scratch copy is removed at the end (and the test link put back where it pointed). The seconds
of each step are the drill's phases; their sum is the time to a validated model (its RTO).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opsplan.backup.models.store import ModelStore
from opsplan.errors import RunbookError, said
from opsplan.fsutil import private_dir
from opsplan.plan.models import ModelSource, Plan
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult, catalogue_text
from opsplan.runbooks.rollback.perf import measure_and_compare
from opsplan.runbooks.rollback.serving import (
    identify_version,
    model_source,
    put_in_place,
    read_link,
    switch_link,
    validate_directory,
)
from opsplan.store.state import StateDB

KIND = "drill-model"
TITLE = catalogue_text("drill.model.title")
TITLES = [catalogue_text("drill.model.step.restore"), catalogue_text("drill.model.step.validate"),
          catalogue_text("drill.model.step.perf")]


def build(plan: Plan, state_db: StateDB, params: dict[str, Any], *, environ: Mapping[str, str] = os.environ,
          clock: Callable[[], float] = time.time) -> Runbook:
    source = model_source(plan, str(params.get("model", "")))
    store = ModelStore(plan.backup.directory, state_db, clock=clock)
    kept = [v.version for v in store.versions(source.name)]
    if not kept:
        raise said(RunbookError, "reason.model_no_version_to_drill", model=source.name)
    version = str(params.get("version") or kept[-1])
    store.version_files(source.name, version)  # an unknown version is one clear line now
    drill = _Drill(plan, state_db, store, source, version, environ, clock)
    return Runbook(kind=KIND, title=TITLE, finally_=drill.clean_up, steps=[
        Step("restore_version", TITLES[0], drill.restore, describe=drill.describe_restore),
        Step("validate_model", TITLES[1], drill.validate, describe=drill.describe_validate),
        Step("performance_test", TITLES[2], drill.perf_test, describe=drill.describe_perf),
    ])


class _Drill:
    def __init__(self, plan: Plan, db: StateDB, store: ModelStore, source: ModelSource, version: str,
                 environ: Mapping[str, str], clock: Callable[[], float]):
        self.plan, self.db, self.store, self.source, self.version = plan, db, store, source, version
        self.environ, self.clock = environ, clock

    def scratch(self, ctx: RunContext) -> Path:
        parent = self.plan.recovery.scratch_dir or Path(self.plan.backup.directory) / ".scratch"
        return parent / f"model-drill-{self.source.name}-run{ctx.run_id}"

    def restore(self, ctx: RunContext) -> StepResult:
        dest = self.scratch(ctx)
        ctx.state.update(version=self.version, scratch=str(dest))
        started = time.monotonic()
        if not dest.exists():
            private_dir(dest.parent)
            self.store.restore_version(self.source.name, self.version, dest)
        files = self.store.version_files(self.source.name, self.version)
        size = sum(f.size_bytes for f in files)
        return StepResult(True, f"version {self.version} ({len(files)} files) restored into {dest}",
                          {"version": self.version, "files": len(files), "bytes": size,
                           "restore_seconds": time.monotonic() - started})

    def describe_restore(self, ctx: RunContext) -> list[str]:
        return [f"restore {self.store.version_dir(self.source.name, self.version)} -> {self.scratch(ctx)} "
                "(every file hash-checked; the serving link is not touched)"]

    def validate(self, ctx: RunContext) -> StepResult:
        started = time.monotonic()
        ok, line, data = validate_directory(self.store, self.source.name, self.version, self.scratch(ctx),
                                            self.source, self.environ)
        return StepResult(ok, line, {**data, "validate_seconds": time.monotonic() - started})

    def describe_validate(self, ctx: RunContext) -> list[str]:
        lines = [f"re-hash every file of {self.scratch(ctx)} against the manifest of {self.version}"]
        if self.source.validate_command:
            lines.append("run: " + " ".join(a.replace("{model_dir}", str(self.scratch(ctx)))
                                            for a in self.source.validate_command))
        return lines

    def serving_version(self) -> str | None:
        """The version the serving link points at (its figures judge a version's first test)."""
        link = self.source.serving_link
        if link is None or read_link(link) is None:
            return None
        return identify_version(self.store, self.db, self.source.name, Path(os.path.realpath(link)))[0]

    def perf_test(self, ctx: RunContext) -> StepResult:
        slot = self.source.test_slot
        if slot is None:
            return StepResult(True, f"model {self.source.name} has no test_slot in the plan: performance test "
                                    "skipped (the serving endpoint is never used by a drill)", {"perf_skipped": True})
        started = time.monotonic()
        if "test_link_before" not in ctx.state:
            ctx.state["test_link_before"] = read_link(slot.link)
        ok, line = put_in_place(slot.link, str(self.scratch(ctx)), reload_command=slot.reload_command,
                                reload_timeout=self.source.reload_timeout, endpoint=slot.endpoint,
                                health_path=self.source.health_path, health_wait=self.source.health_wait,
                                environ=self.environ)
        if not ok:
            return StepResult(False, line, {"perf_seconds": time.monotonic() - started})
        passed, result_line, data = measure_and_compare(self.db, self.source.name, self.version, slot.endpoint,
                                                        self.source.perf, clock=self.clock, run_id=ctx.run_id,
                                                        reference=self.serving_version())
        return StepResult(passed, f"{line}\n{result_line}", {**data, "perf_seconds": time.monotonic() - started})

    def describe_perf(self, ctx: RunContext) -> list[str]:
        slot = self.source.test_slot
        if slot is None:
            return ["no test_slot in the plan: skipped"]
        perf = self.source.perf
        return [f"switch test link {slot.link} -> {self.scratch(ctx)}",
                "reload: " + (" ".join(slot.reload_command) or "(none)"),
                f"{perf.count} requests, {perf.concurrency} at a time, against {slot.endpoint}; within "
                f"{perf.tolerance:g}% of the baseline of {self.version}"]

    def clean_up(self, ctx: RunContext) -> None:
        dest = self.scratch(ctx)
        slot = self.source.test_slot
        if slot is not None and "test_link_before" in ctx.state and slot.link.is_symlink() \
                and os.readlink(slot.link) == str(dest):
            switch_link(slot.link, ctx.state["test_link_before"])
        if dest.exists():
            shutil.rmtree(dest)


def run_drill(plan: Plan, state_db: StateDB, name: str, *, version: str | None = None, engine: Any = None,
              clock: Callable[[], float] = time.time) -> tuple[Any, dict[str, Any]]:
    """Run one model drill through the runbook engine and store its result (target "model:NAME",
    the drill results table the database drill uses too). Returns (outcome, report), where report
    holds status, rto_seconds, phases and checks for `--json` and the scheduler."""
    from opsplan.runbooks.drill import results as drill_results
    from opsplan.runbooks.engine import RunbookEngine

    params = {"model": name, **({"version": version} if version else {})}
    runbook = build(plan, state_db, params, environ=os.environ, clock=clock)
    drill_id = drill_results.start(state_db, f"model:{name}", started_at=clock(), rto_target=plan.recovery.rto)
    engine = engine or RunbookEngine(plan, state_db, clock=clock)
    try:
        outcome = engine.run(runbook, params, yes=True)  # a drill changes nothing that serves
    except BaseException as exc:
        drill_results.update(state_db, drill_id, status=drill_results.FAILED, finished_at=clock(),
                             reason=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise
    report = drill_report(outcome, name)
    drill_results.update(state_db, drill_id, run_id=outcome.run_id, finished_at=clock(),
                         status=drill_results.OK if report["passed"] else drill_results.FAILED,
                         rto_seconds=report["rto_seconds"] if report["passed"] else None,
                         time_to_verified=report["rto_seconds"] if report["passed"] else None,
                         phases=report["phases"], failed_step=outcome.failed_step, reason=outcome.reason)
    return outcome, report


def drill_report(outcome: Any, name: str) -> dict[str, Any]:
    """Phases (seconds per step, as journaled), the time to a validated model, and the checks."""
    phases = {s["name"]: s.get("seconds") for s in outcome.steps if s.get("phase") == "do"}
    data = outcome.data
    checks = {
        "files_checked": data.get("files_checked"),
        "file_problems": data.get("file_problems"),
        "validate_exit": data.get("validate_exit"),
        "perf": data.get("perf"),
        "perf_skipped": bool(data.get("perf_skipped")),
        "baseline": data.get("baseline"),
        "baseline_recorded": bool(data.get("baseline_recorded")),
    }
    passed = outcome.status == "ok"
    return {"passed": passed, "model": name,
            "version": data.get("version") or outcome.state.get("version"),
            "rto_seconds": sum(v for v in phases.values() if v) if passed else None,
            "phases": phases, "checks": checks}
