"""The scheduler: cron in the plan's timezone, no double start, a failing job runs again next time."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from opsplan.jobs import Job
from opsplan.serve.scheduler import MAX_SLEEP, Scheduler

SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


def test_daily_0200_is_seoul_time_and_runs_once_per_day():
    now = [at("2026-11-27 01:59:00")]
    ran = []
    done = threading.Event()
    job = Job("backup-db", "0 2 * * *", lambda: (ran.append(now[0]), done.set()))
    scheduler = Scheduler([job], timezone="Asia/Seoul", clock=lambda: now[0])
    assert datetime.fromtimestamp(job.next_at, SEOUL).isoformat() == "2026-11-27T02:00:00+09:00"
    assert scheduler.run_due() == []
    now[0] = at("2026-11-27 02:00:01")
    assert scheduler.run_due() == ["backup-db"]
    assert done.wait(5)
    job.running.join(5)  # its "finished" line is logged before the test's log capture closes
    assert scheduler.run_due() == []  # not again the same day
    assert datetime.fromtimestamp(job.next_at, SEOUL).isoformat() == "2026-11-28T02:00:00+09:00"


def test_a_job_still_running_is_not_started_twice_and_a_failure_does_not_stop_it():
    now = [at("2026-11-27 00:00:30")]
    release = threading.Event()
    calls = []

    def slow() -> None:
        calls.append("slow")
        release.wait(5)

    def broken() -> None:
        calls.append("broken")
        raise OSError("disk full")

    scheduler = Scheduler([Job("slow", "* * * * *", slow), Job("broken", "* * * * *", broken)],
                          timezone="Asia/Seoul", clock=lambda: now[0])
    now[0] += 60
    assert scheduler.run_due() == ["slow", "broken"]
    scheduler.jobs[1].running.join(5)  # broken has failed and finished
    now[0] += 60
    assert scheduler.run_due() == ["broken"]  # slow is still running
    scheduler.jobs[1].running.join(5)
    release.set()
    scheduler.jobs[0].running.join(5)
    now[0] += 60
    assert scheduler.run_due() == ["slow", "broken"]
    scheduler.jobs[1].running.join(5)
    assert calls.count("broken") == 3


def test_a_run_missed_while_down_happens_at_start_up_and_the_log_says_so(caplog):
    now = at("2026-11-27 09:00:00")
    done = threading.Event()
    missed = Job("backup-db", "0 2 * * *", done.set, last_run=lambda: at("2026-11-26 02:03:00"))
    on_time = Job("backup-config", "0 2 * * *", lambda: None, last_run=lambda: at("2026-11-27 02:01:00"))
    never = Job("backup-models", "0 2 * * *", lambda: None, last_run=lambda: None)
    scheduler = Scheduler([missed, on_time, never], timezone="Asia/Seoul", clock=lambda: now)
    with caplog.at_level("WARNING", logger="opsplan.scheduler"):
        assert scheduler.run_due() == ["backup-db"]
    assert done.wait(5)
    missed.running.join(5)
    assert "backup-db missed its run at 2026-11-27T02:00+09:00" in caplog.text


def test_a_new_install_backs_up_at_start_up_as_its_first_run_not_a_missed_one(tmp_path, caplog):
    from opsplan.backup.database.jobs import database_jobs
    from opsplan.stages.all import load_plan
    from opsplan.store.state import StateDB, default_url
    from yaml_writer import write_plan

    plan = load_plan(write_plan(tmp_path, {}))
    db = StateDB.open(default_url(plan.data_dir))
    now = at("2026-11-27 09:00:00")
    jobs = database_jobs(plan, db, clock=lambda: now)
    with caplog.at_level("INFO", logger="opsplan"):
        Scheduler(jobs, timezone=plan.timezone, clock=lambda: now)
    db.close()
    assert jobs[0].next_at == now  # due at start-up (not run here: that would call mariabackup)
    assert "backup-database: first run" in caplog.text
    assert "missed" not in caplog.text and "down" not in caplog.text


def test_the_scheduler_sleeps_until_the_next_job_is_due_not_a_second_at_a_time():
    now = [at("2026-11-27 01:59:00")]
    scheduler = Scheduler([Job("backup-db", "0 2 * * *", lambda: None), Job("binlogs", "*/5 * * * *", lambda: None)],
                          timezone="Asia/Seoul", clock=lambda: now[0])
    assert scheduler.seconds_to_next() == 60.0  # 02:00, both due
    now[0] = at("2026-11-27 01:59:45")
    assert scheduler.seconds_to_next() == 15.0
    now[0] = at("2026-11-27 02:00:30")
    scheduler.run_due()
    for job in scheduler.jobs:
        job.running.join(5)
    # Next: the binlogs at 02:05, four and a half minutes away; the sleep is capped so a clock set
    # forward is noticed within MAX_SLEEP.
    assert scheduler.seconds_to_next() == MAX_SLEEP
    assert Scheduler([], timezone="Asia/Seoul").seconds_to_next() == MAX_SLEEP


def test_a_job_due_soon_runs_at_its_time_from_the_running_scheduler():
    ran = threading.Event()
    job = Job("soon", "0 2 * * *", ran.set)
    scheduler = Scheduler([job], timezone="Asia/Seoul")
    job.next_at = scheduler.clock() + 0.3  # due in a moment: the sleep ends then, not at the cap
    scheduler.start()
    try:
        assert ran.wait(5)
    finally:
        scheduler.stop()


def test_a_job_started_by_hand_runs_once_even_while_its_time_comes():
    import threading

    from opsplan.jobs import ALREADY_RUNNING, STARTED, JobControl
    from opsplan.serve.scheduler import Scheduler

    release, runs = threading.Event(), []

    def work() -> None:
        runs.append(1)
        release.wait(5)

    job = Job(name="backup-database", cron="* * * * *", run=work)
    scheduler = Scheduler([job], timezone="Asia/Seoul", clock=lambda: 1_000_000.0)
    control = JobControl()
    with pytest.raises(RuntimeError):
        control.run_now("backup-database")  # before serve binds its scheduler
    control.bind(scheduler)
    assert control.run_now("backup-database") == STARTED and control.running("backup-database")
    assert control.run_now("backup-database") == ALREADY_RUNNING
    job.next_at = 0.0  # its cron time comes while the hand-started run is still going
    assert scheduler.run_due() == []
    with pytest.raises(KeyError):
        control.run_now("no-such-job")
    release.set()
    job.running.join(5)
    assert runs == [1] and not control.running("backup-database")
