"""What the operator sees: the live display on a terminal, and `run_and_report` for every command."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

import runbook_toys
from opsplan.cli.runbook_cmd import run_and_report
from opsplan.plan.models import Plan
from opsplan.runbooks.engine import RunbookEngine
from opsplan.store.state import StateDB


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    plan = Plan().model_copy(update={"data_dir": tmp_path / "data", "language": "en"})
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    work = tmp_path / "work"
    work.mkdir()
    yield plan, db, work
    db.close()


def test_on_a_terminal_each_step_ends_with_its_line_and_elapsed_time(setup) -> None:
    plan, db, work = setup
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    params = {"dir": str(work), "steps": 2}
    outcome = RunbookEngine(plan, db, actor="kim@host", console=console).run(
        runbook_toys.build(plan, db, params), params)
    assert outcome.status == "ok"
    text = buffer.getvalue()
    # The spinner line is transient; what stays is one line per finished step with its duration.
    assert "[1/2] Step 1: write a file: ok (" in text and "[2/2] Step 2: write a file: ok (" in text
    assert f"step 1 wrote {work / 'step1.txt'}" in text  # ctx.log lines are shown above the live line


def test_run_and_report_json_carries_the_outcome_and_extra_fields(setup, capsys: pytest.CaptureFixture[str]) -> None:
    plan, db, work = setup
    quiet = Console(file=io.StringIO())
    params = {"dir": str(work), "fail_at": 2, "token": "abcdef-secret"}
    outcome = RunbookEngine(plan, db, console=quiet, clock=lambda: 1_790_000_000.0).run(
        runbook_toys.build(plan, db, params), params)
    code = run_and_report(outcome, as_json=True, timezone="Asia/Seoul", extra={"rpo_seconds": 12.5})
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["status"] == "rolled_back" and document["failed_step"] == "step2"
    assert document["rpo_seconds"] == 12.5 and document["timezone"] == "Asia/Seoul"
    assert document["steps"][0]["started_at"] == "2026-09-21T23:13:20+09:00"
    assert [s["phase"] for s in document["steps"]] == ["do", "do", "undo", "undo", "finally"]
    assert "abcdef-secret" not in json.dumps(document)


def test_run_and_report_text_is_one_line_and_ok_exits_0(setup) -> None:
    plan, db, work = setup
    params = {"dir": str(work), "steps": 1}
    outcome = RunbookEngine(plan, db, console=Console(file=io.StringIO())).run(
        runbook_toys.build(plan, db, params), params, dry_run=True)
    buffer = io.StringIO()
    code = run_and_report(outcome, console=Console(file=buffer, width=200), language="ko")
    assert code == 0
    assert buffer.getvalue() == f"toy-files #{outcome.run_id}: 모의 실행\n"
