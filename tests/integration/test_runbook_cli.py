"""`opsplan runbook list|show|resume` on a run whose process was killed with SIGKILL mid-step.

The toy runbook (tests/runbook_toys.py) is registered in each child process through
`registry.register_builder`, as a real kind is; the commands are the real Typer app.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from yaml_writer import write_plan

TESTS = Path(__file__).resolve().parent.parent
SECRET = "s3cret-Pa55-word"

RUNNER = """
import json, os, sys, time
sys.path.insert(0, {tests!r})
import runbook_toys
runbook_toys.register()
from opsplan.stages.all import load_plan
from opsplan.runbooks import registry
from opsplan.runbooks.engine import RunbookEngine
from opsplan.store.state import StateDB, state_url
from pathlib import Path
plan = load_plan(Path(sys.argv[1]))
db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, os.environ))
params = json.loads(sys.argv[2])
runbook = registry.builder("toy-files")(plan, db, params, environ=os.environ, clock=time.time)
outcome = RunbookEngine(plan, db).run(runbook, params, yes=True)
sys.exit(outcome.exit_code)
"""

CLI = ("import sys; sys.path.insert(0, {tests!r}); import runbook_toys; runbook_toys.register(); "
       "from opsplan.cli.main import app; app()")


def opsplan(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process (no terminal on stdin), with the toy kind registered."""
    return subprocess.run([sys.executable, "-c", CLI.format(tests=str(TESTS)), "--plan", str(plan), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the runner exited early: {proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.05)


def start_and_kill(tmp_path: Path, params: dict[str, Any], marker: str) -> dict[str, Any]:
    """Run the toy runbook in a child process and SIGKILL it once `marker` appears in the work dir."""
    plan = write_plan(tmp_path, {"language": "en", "timezone": "Asia/Seoul"})
    work = Path(params["dir"])
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(tests=str(TESTS)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(plan), json.dumps(params)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(work / marker, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return {"plan": plan, "work": work, "data": tmp_path / "data"}


@pytest.fixture
def killed_run(tmp_path: Path) -> dict[str, Any]:
    """A toy run killed with SIGKILL while its step 3 runs; step 4 is destructive."""
    work = tmp_path / "work"
    work.mkdir()
    params = {"dir": str(work), "pause_at": 3, "destructive_at": 4, "password": SECRET}
    return start_and_kill(tmp_path, params, "paused.3")


def test_a_killed_run_is_interrupted_and_resume_continues_from_the_step_it_was_in(killed_run: dict[str, Any]) -> None:
    import runbook_toys

    plan, work = killed_run["plan"], killed_run["work"]
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3"]

    listed = opsplan(plan, "runbook", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["id"], r["kind"], r["status"]) for r in runs] == [(1, "toy-files", "interrupted")]
    assert runs[0]["started_at"].endswith("+09:00")  # shown in the plan's timezone
    assert runs[0]["params"]["password"] == "***"

    # Without --yes and without a terminal, the destructive step 4 refuses the resume; the run stays resumable.
    refused = opsplan(plan, "runbook", "resume", "1")
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "--yes" in refused.stderr
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3"]
    assert json.loads(opsplan(plan, "runbook", "list", "--json").stdout)["runs"][0]["status"] == "interrupted"

    (work / "release").write_text("", encoding="utf-8")
    resumed = opsplan(plan, "runbook", "resume", "1", "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming run 1 at step 3 of 4" in resumed.stdout
    # Steps 1 and 2 are not run again; step 3 (interrupted) is, then step 4.
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3", "do 3", "do 4", "finally"]
    assert sorted(p.name for p in work.glob("step*.txt")) == [f"step{i}.txt" for i in range(1, 5)]

    shown = json.loads(opsplan(plan, "runbook", "show", "1", "--json").stdout)
    assert shown["status"] == "ok" and shown["resumes"] == 1
    assert [(s["name"], s["status"]) for s in shown["steps"] if s["phase"] == "do"] == [
        ("step1", "ok"), ("step2", "ok"), ("step3", "interrupted"), ("step3", "ok"), ("step4", "ok")]

    again = opsplan(plan, "runbook", "resume", "1", "--yes")
    assert again.returncode == 1 and "finished as ok" in again.stderr

    text = opsplan(plan, "runbook", "show", "1")
    assert text.returncode == 0 and "Asia/Seoul" in text.stdout and "Step 3: write a file" in text.stdout

    log = (killed_run["data"] / "audit.log").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in log.splitlines()]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("run", "started"), ("confirm", "refused"), ("resume", "started"), ("confirm", "yes"), ("run", "ok")]
    everything = log + listed.stdout + resumed.stdout + resumed.stderr + json.dumps(shown)
    assert SECRET not in everything


def test_list_and_show_in_plain_text(killed_run: dict[str, Any]) -> None:
    plan = killed_run["plan"]
    listed = opsplan(plan, "runbook", "list")
    assert listed.returncode == 0
    assert "interrupted (resumable)" in listed.stdout and "toy-files" in listed.stdout
    missing = opsplan(plan, "runbook", "show", "42")
    assert missing.returncode == 1 and missing.stderr.strip() == "opsplan: no runbook run 42"


def test_a_run_killed_while_undoing_finishes_its_undo_on_resume(tmp_path: Path) -> None:
    import runbook_toys

    work = tmp_path / "work"
    work.mkdir()
    (work / "step1.txt").write_text("the operator's file\n", encoding="utf-8")
    params = {"dir": str(work), "fail_at": 3, "undo_pause_at": 2}
    killed = start_and_kill(tmp_path, params, "undo_paused.2")
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3", "undo 3", "undo 2"]

    (work / "release").write_text("", encoding="utf-8")
    resumed = opsplan(killed["plan"], "runbook", "resume", "1")  # undoing needs no confirmation
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # the run failed: rolled back, exit 1
    # Never forward again: the undo of step 2 (interrupted) runs again, then step 1's.
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3", "undo 3", "undo 2", "undo 2", "undo 1", "finally"]
    assert (work / "step1.txt").read_text(encoding="utf-8") == "the operator's file\n"
    assert not (work / "step2.txt").exists() and not (work / "step3.txt").exists()
    shown = json.loads(opsplan(killed["plan"], "runbook", "show", "1", "--json").stdout)
    assert shown["status"] == "rolled_back" and shown["failed_step"] == "step3"
    assert shown["reason"] == "step 3 failed on purpose"
