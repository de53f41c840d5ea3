"""A runbook whose step fails with a long output and leaves a long state: kept whole on every engine.

A failed restore step's output (the server's error log, one line per table) is the run's reason
and the audit entry's detail unclipped, and a step's data and the run's state are JSON of any
size (the tables of a large schema). On MariaDB TEXT holds 65,535 bytes: such a run's row was
refused, the run stayed `running` with no outcome. These columns are MEDIUMTEXT there.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from opsplan.plan.models import Plan, Text
from opsplan.runbooks import audit
from opsplan.runbooks.engine import RunbookEngine
from opsplan.runbooks.journal import RunbookRun, from_json, show_run
from opsplan.runbooks.model import Runbook, RunContext, Step, StepResult
from opsplan.store.state import StateDB

# About 120 KB of UTF-8 each: past TEXT's 65,535 bytes, as a schema of 3,000 tables gives.
TABLES = [f"주문_기록_{i:05d}" for i in range(3000)]
ERROR_LOG = "\n".join(f"ERROR 1146: 테이블 `shop`.`{name}` 복원 실패" for name in TABLES)


@pytest.fixture
def db(engine_state_url: str) -> StateDB:
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def _restore_runbook() -> Runbook:
    def load(ctx: RunContext) -> StepResult:
        ctx.state["tables"] = TABLES
        return StepResult(True, "listed", {"tables": TABLES})

    def restore(ctx: RunContext) -> StepResult:
        return StepResult(False, ERROR_LOG, {"failed_tables": TABLES})

    return Runbook(kind="restore-db", title=Text(ko="복원", en="Restore"), steps=[
        Step(name="list_tables", title=Text(ko="테이블 목록", en="List tables"), action=load),
        Step(name="restore_tables", title=Text(ko="테이블 복원", en="Restore tables"), action=restore),
    ])


def test_a_long_failure_and_a_large_state_are_journaled_and_audited_whole(tmp_path: Path, db: StateDB) -> None:
    plan = Plan().model_copy(update={"data_dir": tmp_path / "data", "language": "ko"})
    console = Console(file=io.StringIO(), force_terminal=False, width=200)
    engine = RunbookEngine(plan, db, actor="kim@ai-server", console=console)
    params: dict[str, Any] = {"backup": "full-20261130"}
    assert len(ERROR_LOG.encode()) > 65_535 and len(str(TABLES).encode()) > 65_535

    outcome = engine.run(_restore_runbook(), params)

    assert outcome.status == "rolled_back" and outcome.failed_step == "restore_tables"
    run = show_run(db, outcome.run_id)
    assert run["status"] == "rolled_back" and run["reason"] == ERROR_LOG  # the whole log, not refused
    steps = {(s["name"], s["phase"]): s for s in run["steps"]}
    assert steps[("list_tables", "do")]["data"] == {"tables": TABLES}
    assert steps[("restore_tables", "do")]["data"] == {"failed_tables": TABLES}
    # The step row keeps its output clipped on purpose (the run's reason has it whole).
    assert ERROR_LOG.startswith(steps[("restore_tables", "do")]["output"])
    finished = [e for e in audit.entries(db, run_id=outcome.run_id) if e["outcome"] == "rolled_back"]
    assert [e["detail"] for e in finished] == [f"restore_tables: {ERROR_LOG}"]
    with db.session() as session:
        row = session.get(RunbookRun, outcome.run_id)
        assert row is not None
        assert from_json(row.state) == {"tables": TABLES}
        assert from_json(row.data) == {"tables": TABLES, "failed_tables": TABLES}
