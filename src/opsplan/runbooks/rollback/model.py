"""`restore-model`: roll an AI model back to a stored version (seed §4.2: 이전 버전 복원 / 모델 검증 /
성능 테스트 / 서비스 적용).

1. restore: the version's files from the model store into a new directory beside the serving
   one, every file hash-checked (undo: remove that directory);
2. validate: every file present and matching the manifest again, then the plan's validation
   command;
3. performance test: the candidate must answer before it serves, but a one-box server has one
   model server. With a `test_slot` in the plan, the test slot's link is switched and its server
   tested: the serving version is never touched. Without one, the serving link itself is switched
   to the candidate, the server reloaded, and the plan's requests run against it (a bounded few
   seconds of live traffic); the step's undo switches back, reloads and probes, so a candidate
   that fails the test leaves the version that was serving in place;
4. put into service: the serving link points at the candidate (switched here when step 3 used
   the test slot), the reload command, then the health probe; the switch is recorded so the next
   rollback knows what serves. Undo: switch back to what was serving (+ reload + probe).

Which version serves: the serving link's directory, from opsplan's own record of its last
switch, else matched by content against the stored versions; unknown means the newest stored.
Default target: the version before the serving one.
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
from opsplan.plan.models import ModelSource, Plan, Recovery, Text
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult, catalogue_text
from opsplan.runbooks.rollback.perf import measure_and_compare
from opsplan.runbooks.rollback.serving import (
    identify_version,
    model_source,
    put_in_place,
    read_link,
    record_serving,
    validate_directory,
)
from opsplan.store.state import StateDB

KIND = "restore-model"
TITLE = catalogue_text("restore.model.title")
# A plan that lists fewer than four step titles gets the plan's own defaults for the rest.
DEFAULT_TITLES = Recovery().model.steps


def step_titles(plan: Plan) -> list[Text]:
    steps = plan.recovery.model.steps
    return [steps[i] if i < len(steps) else DEFAULT_TITLES[i] for i in range(4)]


def build(plan: Plan, state_db: StateDB, params: dict[str, Any], *, environ: Mapping[str, str] = os.environ,
          clock: Callable[[], float] = time.time) -> Runbook:
    source = model_source(plan, str(params.get("model", "")))
    if source.serving_link is None:
        raise RunbookError(f"model {source.name} has no serving_link in the plan: nothing to roll back")
    store = ModelStore(plan.backup.directory, state_db, clock=clock)
    if params.get("version"):
        store.version_files(source.name, str(params["version"]))  # an unknown version is one clear line now
    rb = _Rollback(plan, state_db, store, source, params, environ, clock)
    titles = step_titles(plan)
    return Runbook(kind=KIND, title=TITLE, steps=[
        Step("restore_version", titles[0], rb.restore, undo=rb.remove_candidate, describe=rb.describe_restore),
        Step("validate_model", titles[1], rb.validate, describe=rb.describe_validate),
        Step("performance_test", titles[2], rb.perf_test, undo=rb.switch_back, describe=rb.describe_perf,
             destructive=source.test_slot is None and source.endpoint is not None),
        Step("put_into_service", titles[3], rb.put_into_service, undo=rb.switch_back,
             describe=rb.describe_service, destructive=True),
    ])


class _Rollback:
    def __init__(self, plan: Plan, db: StateDB, store: ModelStore, source: ModelSource, params: dict[str, Any],
                 environ: Mapping[str, str], clock: Callable[[], float]):
        self.plan, self.db, self.store, self.source = plan, db, store, source
        self.params, self.environ, self.clock = params, environ, clock
        assert source.serving_link is not None
        self.link: Path = source.serving_link
        self._resolved: dict[str, Any] | None = None  # a dry run resolves once for all its steps

    # --- the target, resolved once and kept in ctx.state (a resume must not re-resolve it) ----------

    def target(self, ctx: RunContext) -> dict[str, Any]:
        if "version" in ctx.state:
            return ctx.state
        if self._resolved is None:
            self._resolved = self._resolve(ctx.run_id)
        resolved = self._resolved
        if not ctx.dry_run:
            ctx.state.update(resolved)
        return resolved

    def _resolve(self, run_id: int) -> dict[str, Any]:
        name = self.source.name
        previous_target = read_link(self.link)
        serving_dir = Path(os.path.realpath(self.link)) if previous_target is not None else None
        serving_version, how = (None, "no serving link yet")
        if serving_dir is not None:
            serving_version, how = identify_version(self.store, self.db, name, serving_dir)
        kept = [v.version for v in self.store.versions(name)]
        if not kept:
            raise said(RunbookError, "reason.model_no_version_to_roll_back", model=name)
        version = self.params.get("version")
        if not version:
            assumed = serving_version if serving_version in kept else kept[-1]
            index = kept.index(assumed)
            if index == 0:
                raise said(RunbookError, "reason.model_no_older_version", model=name, version=assumed,
                           kept=", ".join(kept))
            version = kept[index - 1]
        if version == serving_version:
            raise said(RunbookError, "reason.model_already_serving", model=name, version=version, path=serving_dir)
        base = serving_dir.parent if serving_dir is not None else self.link.parent
        return {"version": version, "serving_version": serving_version, "serving_how": how,
                "previous_target": previous_target, "serving_dir": str(serving_dir) if serving_dir else None,
                "candidate_dir": str(base / f"{name}-{version}-run{run_id}")}

    # --- 1. restore ------------------------------------------------------------------------------

    def restore(self, ctx: RunContext) -> StepResult:
        st = self.target(ctx)
        dest = Path(st["candidate_dir"])
        serving = st["serving_version"] or f"unknown ({st['serving_how']}; newest stored assumed)"
        if not dest.exists():  # restore_version renames into place: an existing one is complete
            self.store.restore_version(self.source.name, st["version"], dest)
        files = self.store.version_files(self.source.name, st["version"])
        return StepResult(True, f"serving: {serving}; version {st['version']} ({len(files)} files) restored "
                                f"into {dest}",
                          {"version": st["version"], "serving_version": st["serving_version"],
                           "candidate_dir": str(dest), "bytes": sum(f.size_bytes for f in files)})

    def remove_candidate(self, ctx: RunContext) -> StepResult:
        if "candidate_dir" not in ctx.state:
            return StepResult(True, "nothing was restored")
        dest = Path(ctx.state["candidate_dir"])
        if self.link.is_symlink() and Path(os.path.realpath(self.link)) == Path(os.path.realpath(dest)):
            return StepResult(False, f"{dest} is still what {self.link} points to; not removed")
        if dest.exists():
            shutil.rmtree(dest)
            return StepResult(True, f"{dest} removed")
        return StepResult(True, f"{dest} was not there")

    def describe_restore(self, ctx: RunContext) -> list[str]:
        st = self.target(ctx)
        return [f"serving now: {st['previous_target'] or '(no link)'} = version "
                f"{st['serving_version'] or 'unknown'} ({st['serving_how']})",
                f"restore {self.store.version_dir(self.source.name, st['version'])} -> {st['candidate_dir']} "
                "(every file hash-checked)"]

    # --- 2. validate -----------------------------------------------------------------------------

    def validate(self, ctx: RunContext) -> StepResult:
        st = self.target(ctx)
        ok, line, data = validate_directory(self.store, self.source.name, st["version"], Path(st["candidate_dir"]),
                                            self.source, self.environ)
        return StepResult(ok, line, data)

    def describe_validate(self, ctx: RunContext) -> list[str]:
        st = self.target(ctx)
        lines = [f"re-hash every file of {st['candidate_dir']} against the manifest of {st['version']}"]
        if self.source.validate_command:
            lines.append("run: " + " ".join(a.replace("{model_dir}", st["candidate_dir"])
                                            for a in self.source.validate_command))
        return lines

    # --- 3. performance test ---------------------------------------------------------------------

    def perf_test(self, ctx: RunContext) -> StepResult:
        st = self.target(ctx)
        s = self.source
        if s.test_slot is not None:
            slot = s.test_slot
            ok, line = put_in_place(slot.link, st["candidate_dir"], reload_command=slot.reload_command,
                                    reload_timeout=s.reload_timeout, endpoint=slot.endpoint,
                                    health_path=s.health_path, health_wait=s.health_wait, environ=self.environ)
            endpoint = slot.endpoint
        elif s.endpoint is not None:
            ctx.state["switched"] = True  # before the switch: an interruption still switches back
            ok, line = self._serve_candidate(st)
            endpoint = s.endpoint
        else:
            return StepResult(True, f"model {s.name} has no endpoint in the plan: performance test skipped")
        if not ok:
            return StepResult(False, line)
        passed, result_line, data = measure_and_compare(self.db, s.name, st["version"], endpoint, s.perf,
                                                        clock=self.clock, run_id=ctx.run_id,
                                                        reference=st["serving_version"])
        return StepResult(passed, f"{line}\n{result_line}", data)

    def describe_perf(self, ctx: RunContext) -> list[str]:
        st = self.target(ctx)
        s = self.source
        if s.test_slot is not None:
            where = [f"switch test link {s.test_slot.link} -> {st['candidate_dir']}",
                     "reload: " + (" ".join(s.test_slot.reload_command) or "(none)")]
            endpoint = s.test_slot.endpoint
        elif s.endpoint is not None:
            where = self._describe_switch(st["candidate_dir"])
            endpoint = s.endpoint
        else:
            return ["no endpoint in the plan: skipped"]
        requests = ", ".join(f"{r.method} {r.path}" for r in s.perf.requests)
        return where + [f"{s.perf.count} requests ({requests}), {s.perf.concurrency} at a time, against {endpoint}; "
                        f"p50/p95/throughput within {s.perf.tolerance:g}% of the baseline of {st['version']}",
                        "on failure: switch back to what serves now, reload, probe"]

    # --- 4. put into service ---------------------------------------------------------------------

    def put_into_service(self, ctx: RunContext) -> StepResult:
        st = self.target(ctx)
        ctx.state["switched"] = True
        ok, line = self._serve_candidate(st)
        if ok:
            record_serving(self.db, self.source.name, st["version"], Path(os.path.realpath(st["candidate_dir"])),
                           now=self.clock(), run_id=ctx.run_id)
            line = f"{line}\nversion {st['version']} is serving from {st['candidate_dir']}"
        return StepResult(ok, line, {"serving_version": st["version"]} if ok else {})

    def describe_service(self, ctx: RunContext) -> list[str]:
        st = self.target(ctx)
        return self._describe_switch(st["candidate_dir"]) + [
            "on failure: switch back to " + (st["previous_target"] or "(no link)") + ", reload, probe"]

    # --- switching -------------------------------------------------------------------------------

    def _serve_candidate(self, st: dict[str, Any]) -> tuple[bool, str]:
        s = self.source
        return put_in_place(self.link, st["candidate_dir"], reload_command=s.reload_command,
                            reload_timeout=s.reload_timeout, endpoint=s.endpoint, health_path=s.health_path,
                            health_wait=s.health_wait, environ=self.environ)

    def switch_back(self, ctx: RunContext) -> StepResult:
        if not ctx.state.get("switched"):
            return StepResult(True, "the serving link was not changed")
        s = self.source
        ok, line = put_in_place(self.link, ctx.state["previous_target"], reload_command=s.reload_command,
                                reload_timeout=s.reload_timeout, endpoint=s.endpoint, health_path=s.health_path,
                                health_wait=s.health_wait, environ=self.environ)
        serving = ctx.state.get("serving_version") or "the previous directory"
        return StepResult(ok, f"{line}\nback to {serving}" if ok else line)

    def _describe_switch(self, target: str) -> list[str]:
        s = self.source
        lines = [f"switch {self.link} -> {target} (new symlink renamed over it)",
                 "reload: " + (" ".join(s.reload_command) or "(none in the plan)")]
        if s.endpoint:
            lines.append(f"probe {s.endpoint.rstrip('/')}{s.health_path} until 200 (at most {s.health_wait:g}s)")
        return lines
