"""The runbook engine against a real SQLite state database and a toy runbook touching real files."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import runbook_toys
from opsplan.errors import RunbookError
from opsplan.plan.models import Plan
from opsplan.runbooks import audit
from opsplan.runbooks.engine import RunbookEngine, default_actor
from opsplan.runbooks.journal import list_runs, mask, show_run
from opsplan.store.state import StateDB
from state_engines import sqlite_only

SECRET = "hunter2-very-secret"


class Clock:
    def __init__(self, start: float = 1_790_000_000.0):
        self.now = start

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


@pytest.fixture
def work(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


@pytest.fixture
def plan(tmp_path: Path) -> Plan:
    return Plan().model_copy(update={"data_dir": tmp_path / "data", "language": "en"})


@pytest.fixture
def db(engine_state_url: str) -> StateDB:
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


def engine(plan: Plan, db: StateDB, **kwargs: Any) -> tuple[RunbookEngine, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    return RunbookEngine(plan, db, clock=Clock(), actor="kim@ai-server", console=console, **kwargs), buffer


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests run like a script: no terminal on stdin to ask on."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def test_a_successful_run_is_journaled_step_by_step(plan: Plan, db: StateDB, work: Path) -> None:
    params = {"dir": str(work), "inspect": True}
    eng, shown = engine(plan, db)
    outcome = eng.run(runbook_toys.build(plan, db, params), params)

    assert outcome.status == "ok" and outcome.exit_code == 0
    # Each step saw its own journal row already written, as "running", while it ran.
    assert [outcome.data[f"seen_{i}"] for i in range(1, 5)] == ["running"] * 4
    run = show_run(db, outcome.run_id)
    assert run["status"] == "ok" and run["actor"] == "kim@ai-server" and run["params"] == params
    assert [(s["name"], s["phase"], s["status"]) for s in run["steps"]] == [
        ("step1", "do", "ok"), ("step2", "do", "ok"), ("step3", "do", "ok"), ("step4", "do", "ok"),
        ("finally", "finally", "ok")]
    assert all(s["seconds"] == pytest.approx(1.5) for s in run["steps"][:4])  # the injected clock
    assert sorted(p.name for p in work.glob("step*.txt")) == [f"step{i}.txt" for i in range(1, 5)]
    assert runbook_toys.calls(work)[-1] == "finally"
    text = shown.getvalue()
    assert "[3/4] Step 3: write a file: ok" in text and "run 1: ok" in text


def test_failure_in_step_3_undoes_3_2_1_and_leaves_the_files_as_before(plan: Plan, db: StateDB, work: Path) -> None:
    (work / "step2.txt").write_text("the operator's file\n", encoding="utf-8")
    before = snapshot(work)
    params = {"dir": str(work), "fail_at": 3}
    eng, shown = engine(plan, db)
    outcome = eng.run(runbook_toys.build(plan, db, params), params)

    assert outcome.status == "rolled_back" and outcome.exit_code == 1
    assert outcome.failed_step == "step3" and outcome.reason == "step 3 failed on purpose"
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3", "undo 3", "undo 2", "undo 1", "finally"]
    after = snapshot(work)
    after.pop("calls.log")
    assert after == before  # step2.txt has its old content back; step1/step3 files are gone
    steps = [(s["name"], s["phase"], s["status"]) for s in show_run(db, outcome.run_id)["steps"]]
    assert steps == [("step1", "do", "ok"), ("step2", "do", "ok"), ("step3", "do", "failed"),
                     ("step3", "undo", "ok"), ("step2", "undo", "ok"), ("step1", "undo", "ok"),
                     ("finally", "finally", "ok")]
    assert "step4" not in runbook_toys.calls(work)
    assert "FAILED" in shown.getvalue() and "[undo 1/4]" in shown.getvalue()


@sqlite_only
def test_a_failing_check_fails_the_step(plan: Plan, db: StateDB, work: Path) -> None:
    params = {"dir": str(work), "check_fail_at": 2}
    outcome = engine(plan, db)[0].run(runbook_toys.build(plan, db, params), params)
    assert outcome.status == "rolled_back" and outcome.failed_step == "step2"
    assert outcome.reason == "check of step 2 failed"
    assert runbook_toys.calls(work) == ["do 1", "do 2", "undo 2", "undo 1", "finally"]


def test_a_failed_undo_is_reported_loudly_and_the_other_undos_still_run(plan: Plan, db: StateDB,
                                                                        work: Path) -> None:
    params = {"dir": str(work), "fail_at": 3, "undo_fail_at": 2}
    eng, shown = engine(plan, db)
    outcome = eng.run(runbook_toys.build(plan, db, params), params)
    assert outcome.status == "failed"
    assert "UNDO FAILED: step2" in (outcome.reason or "")
    assert "UNDO FAILED: step2" in shown.getvalue()
    assert runbook_toys.calls(work) == ["do 1", "do 2", "do 3", "undo 3", "undo 2", "undo 1", "finally"]
    assert list_runs(db)[0]["status"] == "failed"


@sqlite_only
def test_an_exception_is_one_line_without_traceback_or_secret(plan: Plan, db: StateDB, work: Path,
                                                              tmp_path: Path) -> None:
    params = {"dir": str(work), "raise_at": 2, "password": SECRET, "nested": {"api_token": SECRET}}
    outcome = engine(plan, db)[0].run(runbook_toys.build(plan, db, params), params)

    assert outcome.status == "rolled_back"
    assert outcome.reason == "RuntimeError: step 2 broke (password was ***)"
    run = show_run(db, outcome.run_id)
    assert run["params"]["password"] == "***" and run["params"]["nested"]["api_token"] == "***"
    journal = json.dumps(run) + json.dumps(audit.entries(db)) + json.dumps(outcome.to_dict())
    assert SECRET not in journal and "Traceback" not in journal and "second line" not in journal
    log_text = (tmp_path / "data" / "audit.log").read_text(encoding="utf-8")
    assert SECRET not in log_text and '"password": "***"' in log_text


def test_a_dry_run_changes_nothing_on_disk_and_is_journaled(plan: Plan, db: StateDB, work: Path) -> None:
    (work / "step2.txt").write_text("keep me\n", encoding="utf-8")
    before = snapshot(work)
    params = {"dir": str(work), "destructive_at": 2}
    eng, shown = engine(plan, db)
    outcome = eng.run(runbook_toys.build(plan, db, params), params, dry_run=True)

    assert outcome.status == "dry_run" and outcome.exit_code == 0
    assert snapshot(work) == before and runbook_toys.calls(work) == []
    text = shown.getvalue()
    assert f"write {work / 'step1.txt'}" in text and f"write {work / 'step4.txt'}" in text
    assert "[2/4] Step 2: write a file (asks for confirmation)" in text
    run = show_run(db, outcome.run_id)
    assert run["status"] == "dry_run" and run["dry_run"] is True
    assert [(s["phase"], s["status"]) for s in run["steps"]] == [("plan", "dry_run")] * 4
    assert run["steps"][2]["output"] == f"write {work / 'step3.txt'}"


@sqlite_only
def test_a_destructive_step_without_yes_and_without_a_terminal_is_refused_before_anything(
        plan: Plan, db: StateDB, work: Path) -> None:
    params = {"dir": str(work), "destructive_at": 3}
    eng, shown = engine(plan, db)  # confirm=None: the terminal would be asked, and there is none
    outcome = eng.run(runbook_toys.build(plan, db, params), params)

    assert outcome.status == "refused" and outcome.exit_code == 1 and outcome.failed_step == "step3"
    assert "--yes" in (outcome.reason or "") and "nothing was done" in (outcome.reason or "")
    assert runbook_toys.calls(work) == [] and not list(work.glob("step*.txt"))
    decisions = [e for e in audit.entries(db, run_id=outcome.run_id) if e["action"] == "confirm"]
    assert [(d["outcome"], d["detail"]) for d in decisions] == [("refused", "step3: no terminal and no --yes")]


def test_yes_confirms_and_the_decision_is_audited(plan: Plan, db: StateDB, work: Path) -> None:
    params = {"dir": str(work), "destructive_at": 3}
    outcome = engine(plan, db)[0].run(runbook_toys.build(plan, db, params), params, yes=True)
    assert outcome.status == "ok"
    decisions = [e for e in audit.entries(db, run_id=outcome.run_id) if e["action"] == "confirm"]
    assert [(d["outcome"], d["detail"]) for d in decisions] == [("yes", "step3: --yes")]


def test_a_declined_confirmation_stops_and_undoes_what_was_done(plan: Plan, db: StateDB, work: Path) -> None:
    asked: list[str] = []

    def say_no(prompt: str) -> bool:
        asked.append(prompt)
        return False

    params = {"dir": str(work), "destructive_at": 3}
    outcome = engine(plan, db, confirm=say_no)[0].run(runbook_toys.build(plan, db, params), params)
    assert asked == ["Step 'Step 3: write a file' is destructive. Go ahead?"]
    assert outcome.status == "refused" and outcome.failed_step == "step3"
    # Step 3 never ran; what steps 1 and 2 did is undone, newest first.
    assert runbook_toys.calls(work) == ["do 1", "do 2", "undo 2", "undo 1", "finally"]
    assert not list(work.glob("step*.txt"))
    decisions = [e for e in audit.entries(db, run_id=outcome.run_id) if e["action"] == "confirm"]
    assert [d["outcome"] for d in decisions] == ["no"]


@sqlite_only
def test_korean_titles_and_messages(plan: Plan, db: StateDB, work: Path) -> None:
    korean = plan.model_copy(update={"language": "ko"})
    params = {"dir": str(work), "steps": 1}
    eng, shown = engine(korean, db)
    outcome = eng.run(runbook_toys.build(korean, db, params), params)
    assert outcome.status == "ok"
    assert "[1/1] 1단계: 파일 쓰기: 완료" in shown.getvalue()
    assert show_run(db, outcome.run_id)["steps"][0]["title"] == "1단계: 파일 쓰기"


@sqlite_only
def test_the_audit_log_file_is_private_and_has_every_run(plan: Plan, db: StateDB, work: Path,
                                                         tmp_path: Path) -> None:
    eng = engine(plan, db)[0]
    ok = {"dir": str(work), "steps": 2}
    eng.run(runbook_toys.build(plan, db, ok), ok)
    bad = {"dir": str(work), "steps": 2, "fail_at": 1}
    eng.run(runbook_toys.build(plan, db, bad), bad)
    path = tmp_path / "data" / "audit.log"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    finished = [(e["run_id"], e["action"], e["outcome"], e["actor"]) for e in lines if e["outcome"] != "started"]
    assert finished == [(1, "run", "ok", "kim@ai-server"), (2, "run", "rolled_back", "kim@ai-server")]
    assert lines[-1]["arguments"] == bad and lines[-1]["detail"] == "step1: step 1 failed on purpose"
    assert len(audit.entries(db)) == len(lines)


def test_resume_refuses_a_finished_run_and_an_unknown_one(plan: Plan, db: StateDB, work: Path) -> None:
    eng = engine(plan, db)[0]
    params = {"dir": str(work), "steps": 1}
    outcome = eng.run(runbook_toys.build(plan, db, params), params)
    with pytest.raises(RunbookError, match="finished as ok: only an interrupted run can be resumed"):
        eng.resume(outcome.run_id)
    with pytest.raises(RunbookError, match="no runbook run 99"):
        eng.resume(99)


def test_mask_hides_secret_keys_only() -> None:
    assert mask({"password": "x", "db_password": "y", "token": "z", "backup_id": 3, "time": "2026-11-20 14:00",
                 "inner": [{"secret": "s", "path": "/srv", "API_KEY": "k"}],
                 "tokens_per_second": 41.5, "passed": True, "checks_passed": 3}) == {
        "password": "***", "db_password": "***", "token": "***", "backup_id": 3, "time": "2026-11-20 14:00",
        "inner": [{"secret": "***", "path": "/srv", "API_KEY": "***"}],
        "tokens_per_second": 41.5, "passed": True, "checks_passed": 3}


def test_the_actor_names_the_person_behind_sudo() -> None:
    actor = default_actor({"SUDO_USER": "kim"})
    assert actor.startswith("kim (sudo ") and "@" in actor
    assert "sudo" not in default_actor({})
