"""When `opsplan serve` drills (issue 10 item 4): a fresh install's first database drill follows its
first backup within the day, not a quarter later; a model drill missed while serve was down catches up.

The scheduler runs on an injected clock; the jobs are the ones the recovery stage hands `serve`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsplan.backup.database.catalog import DbBackup
from opsplan.jobs import Job
from opsplan.runbooks.drill import results as drill_results
from opsplan.runbooks.drill.jobs import database_drill_jobs, model_drill_jobs
from opsplan.serve.scheduler import Scheduler
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB
from yaml_writer import write_plan

SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


@pytest.fixture
def fresh(tmp_path: Path, engine_state_url: str):
    path = write_plan(tmp_path, {"language": "en", "timezone": "Asia/Seoul", "backup": {
        "directory": str(tmp_path / "backups"), "config": {"paths": [str(tmp_path / "etc")]},
        "models": {"models": [{"name": "llm", "path": str(tmp_path / "models" / "llm")}]}}})
    plan = load_plan(path)
    db = StateDB.open(engine_state_url)
    yield plan, db
    db.close()


def run_due(scheduler: Scheduler) -> list[str]:
    started = scheduler.run_due()
    for job in scheduler.jobs:
        if job.running is not None:
            job.running.join(60)
    return started


def test_the_first_database_drill_follows_the_first_backup_within_the_day(fresh) -> None:
    plan, db = fresh
    now = [at("2026-12-02 10:00:00")]  # a fresh install, two months before the next quarterly drill
    clock = lambda: now[0]  # noqa: E731
    scheduler = Scheduler(database_drill_jobs(plan, db, environ={}, clock=clock), timezone=plan.timezone,
                          clock=clock)

    now[0] = at("2026-12-02 11:30:00")
    run_due(scheduler)
    assert drill_results.history(db, drill_results.DATABASE) == []  # no backup yet: nothing to drill

    with db.session() as session:  # the first backup finishes at 12:00
        session.add(DbBackup(target="database", kind="full", status="ok", started_at=at("2026-12-02 11:50:00"),
                             finished_at=at("2026-12-02 12:00:00"), directory="full-1"))
    now[0] = at("2026-12-02 23:59:00")  # the same day
    run_due(scheduler)
    drills = drill_results.history(db, drill_results.DATABASE)
    assert len(drills) == 1 and at("2026-12-02 12:00:00") < drills[0]["started_at"] <= now[0]
    assert drills[0]["status"] == drill_results.FAILED  # this backup has no files: the drill says so

    now[0] = at("2026-12-03 12:00:00")
    run_due(scheduler)
    assert len(drill_results.history(db, drill_results.DATABASE)) == 1  # then the quarterly schedule rules
    quarterly = next(j for j in scheduler.jobs if j.name == "drill-database")
    assert quarterly.next_at == at("2027-01-01 10:00:00")


def test_a_model_drill_missed_while_serve_was_down_runs_at_start_up(fresh) -> None:
    plan, db = fresh
    drill = drill_results.start(db, "model:llm", started_at=at("2026-07-01 10:00:00"))
    drill_results.update(db, drill, status=drill_results.OK, finished_at=at("2026-07-01 10:05:00"))
    start = at("2026-10-03 09:00:00")  # serve was down on 2026-10-01 10:00, the quarterly drill

    jobs: list[Job] = model_drill_jobs(plan, db)
    Scheduler(jobs, timezone=plan.timezone, clock=lambda: start)

    assert [(job.name, job.next_at) for job in jobs] == [("drill-model-llm", start)]


def test_a_model_drill_that_ran_on_time_waits_for_its_next_date(fresh) -> None:
    plan, db = fresh
    drill = drill_results.start(db, "model:llm", started_at=at("2026-10-01 10:00:00"))
    drill_results.update(db, drill, status=drill_results.OK, finished_at=at("2026-10-01 10:05:00"))

    jobs = model_drill_jobs(plan, db)
    Scheduler(jobs, timezone=plan.timezone, clock=lambda: at("2026-10-03 09:00:00"))

    assert jobs[0].next_at == at("2027-01-01 10:00:00")
