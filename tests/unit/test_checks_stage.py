"""The checks stage under serve: one job per period on the plan's schedule, reading serve's own
metrics store; a missed run is caught up from the runs table; the newest runs become metrics."""

from __future__ import annotations

import time
from pathlib import Path

from opsplan.metrics import sample
from opsplan.serve.scheduler import Scheduler
from opsplan.stages import checks as stage
from opsplan.stages.all import metric_registry
from opsplan.stages.part import StageContext
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from yaml_writer import write_plan


def test_each_period_is_a_job_that_reads_serves_store_and_feeds_the_metrics(tmp_path: Path):
    from opsplan.stages.all import load_plan

    plan = load_plan(write_plan(tmp_path, {"language": "en"}))
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    store = MetricsStore(tmp_path / "metrics", sync=False)
    try:
        ctx = StageContext(plan=plan, state_db=db)
        part = stage.build(ctx)
        jobs = {job.name: job for job in part.jobs}
        assert {name: job.cron for name, job in jobs.items()} == {
            "check-daily": "0 9 * * *", "check-weekly": "0 10 * * 1", "check-monthly": "0 10 1 * *",
            "check-quarterly": "0 10 1 1,4,7,10 *"}
        daily = jobs["check-daily"]
        assert daily.last_run is not None and daily.last_run() is None
        assert Scheduler([daily], timezone=plan.timezone).jobs[0].next_at > time.time()  # a new install waits
        now = time.time()
        for i in range(12):
            store.append(now - 3600 + i * 300, [sample("opsplan_disk_usage_ratio", 0.5, mountpoint="/")])
        ctx.provide(store)  # what serve does once its store is open
        outcome = daily.run()
        assert outcome.status == "fail"  # no backup in the catalog; the disk item had data
        by_item = {r.item_id: r.status for r in outcome.results}
        assert by_item["disk.space"] == "pass" and by_item["gpu.status"] == "not-run"
        finished = daily.last_run()
        assert finished is not None
        # serve started again two days later: the missed daily run is caught up once, at start.
        later = finished + 2 * 86400
        assert Scheduler([daily], timezone=plan.timezone, clock=lambda: later).jobs[0].next_at == later
        # and not when the newest run is after the last scheduled time
        assert Scheduler([daily], timezone=plan.timezone, clock=lambda: finished + 1).jobs[0].next_at > finished + 1
        samples = {(s.name, dict(s.labels)["period"]): s.value for s in part.collectors[0].collect()}
        assert samples[("opsplan_check_status", "daily")] == 4.0
        assert samples[("opsplan_check_last_run_timestamp_seconds", "daily")] == finished
        assert set(stage.families()) <= set(metric_registry())
    finally:
        store.close()
        db.close()


def test_a_run_killed_halfway_is_marked_interrupted_at_start_and_caught_up(tmp_path: Path):
    from opsplan.audit import entries
    from opsplan.checks import runs
    from opsplan.stages.all import load_plan

    plan = load_plan(write_plan(tmp_path, {"language": "en"}))
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        now = time.time()
        with db.session() as session:
            session.add(runs.CheckRun(period="daily", window_start=now - 3 * 86400, window_end=now - 2 * 86400,
                                      started_at=now - 2 * 86400, finished_at=now - 2 * 86400, status="pass",
                                      actor="opsplan serve (schedule)"))
            session.add(runs.CheckRun(period="daily", window_start=now - 86400 - 60, window_end=now - 60,
                                      started_at=now - 60, status="running", actor="opsplan serve (schedule)"))
        part = stage.build(StageContext(plan=plan, state_db=db))
        run = runs.list_runs(db)[0]
        assert run["status"] == "interrupted" and run["finished_at"] is not None
        assert [e["outcome"] for e in entries(db, run_id=run["id"])] == ["interrupted"]
        daily = next(job for job in part.jobs if job.name == "check-daily")
        assert daily.last_run is not None and daily.last_run() == now - 2 * 86400  # not the interrupted one
        assert Scheduler([daily], timezone=plan.timezone, clock=lambda: now).jobs[0].next_at == now  # caught up
        samples = {s.name: s.value for s in part.collectors[0].collect()}
        assert samples["opsplan_check_status"] == 2.0
    finally:
        db.close()
