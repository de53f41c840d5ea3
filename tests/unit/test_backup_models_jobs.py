"""The scheduler jobs and metrics of model/config backups, on a real catalog and real files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opsplan.backup.files_jobs import file_backup_jobs, interval_cron
from opsplan.backup.files_metrics import METRICS, FileBackupCollector
from opsplan.plan.models import Plan
from opsplan.serve.scheduler import Scheduler
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB

T0 = 1_800_000_000.0  # a fixed UTC instant


@pytest.fixture()
def setup(tmp_path: Path, engine_state_url: str):
    model = tmp_path / "llm"
    model.mkdir()
    (model / "weights.safetensors").write_bytes(b"w" * 5000)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "app.conf").write_text("a = 1\n")
    plan = Plan.model_validate({"data_dir": str(tmp_path / "data"), "backup": {
        "directory": str(tmp_path / "backups"),
        "models": {"models": [{"name": "llm", "path": str(model)}]},
        "config": {"paths": [str(etc)]}}})
    db = StateDB.open(engine_state_url)
    yield plan, db, model, etc
    db.close()


def test_intervals_become_cron() -> None:
    assert interval_cron(15 * 60) == "*/15 * * * *"
    assert interval_cron(6 * 3600) == "0 */6 * * *"
    with pytest.raises(ValueError):
        interval_cron(7 * 60)


def test_jobs_back_up_and_metrics_report_each_target(setup) -> None:
    plan, db, model, etc = setup
    now = [T0]
    jobs = {j.name: j for j in file_backup_jobs(plan, db, clock=lambda: now[0])}
    assert set(jobs) == {"backup-models", "backup-config-check", "backup-config-daily"}
    assert jobs["backup-models"].cron == "*/15 * * * *" and jobs["backup-config-daily"].cron == "30 2 * * *"
    assert FileBackupCollector(plan, db).collect() == [
        s for s in FileBackupCollector(plan, db).collect() if s.name == "opsplan_backup_model_versions"]
    jobs["backup-models"].run()
    jobs["backup-config-check"].run()  # never backed up: the look says changed
    now[0] += 600
    assert jobs["backup-config-check"].run() is None  # nothing changed: no git work at all
    samples = {(s.name, s.label("target") or s.label("model")): s.value
               for s in FileBackupCollector(plan, db).collect()}
    assert samples[("opsplan_backup_last_status", "model:llm")] == 1
    assert samples[("opsplan_backup_last_size_bytes", "model:llm")] == 5000
    assert samples[("opsplan_backup_last_success_timestamp_seconds", "model:llm")] == T0
    assert samples[("opsplan_backup_last_status", "config")] == 1
    assert samples[("opsplan_backup_model_versions", "llm")] == 1
    assert {name for name, _ in samples} <= set(METRICS) and set(METRICS) <= set(metric_registry())
    # the model folder disappears: the next look fails, and the metric says so
    (model / "weights.safetensors").unlink()
    model.rmdir()
    with pytest.raises(Exception, match="does not exist"):
        jobs["backup-models"].run()
    samples = {(s.name, s.label("target")): s.value for s in FileBackupCollector(plan, db).collect()}
    assert samples[("opsplan_backup_last_status", "model:llm")] == 0
    assert samples[("opsplan_backup_last_success_timestamp_seconds", "model:llm")] == T0  # still the old success


def test_a_daily_run_missed_while_down_runs_at_start_up_and_is_logged(setup, caplog) -> None:
    plan, db, _model, _etc = setup
    file_backup_jobs(plan, db, clock=lambda: T0)[2].run()  # the daily pass, once
    caplog.set_level(logging.WARNING, logger="opsplan.scheduler")
    three_days_later = T0 + 3 * 86400
    scheduler = Scheduler(file_backup_jobs(plan, db, clock=lambda: three_days_later), timezone=plan.timezone,
                          clock=lambda: three_days_later)
    daily = next(j for j in scheduler.jobs if j.name == "backup-config-daily")
    assert daily.next_at == three_days_later  # due now, not at the next 02:30
    assert any("backup-config-daily missed its run" in r.getMessage() for r in caplog.records)


def test_plan_check_names_bad_intervals_and_paths(tmp_path: Path) -> None:
    from opsplan.plan.semantic import check_plan

    plan = Plan.model_validate({"backup": {
        "directory": "/var/backups/opsplan",
        "models": {"check_interval": "7m", "models": [{"name": "a", "path": "rel/a"},
                                                     {"name": "b", "path": "/var/backups/opsplan/b"}]},
        "config": {"paths": ["etc/x"]}}})
    problems = {p.loc: p.message for p in check_plan(plan)}
    assert "whole minutes dividing an hour" in problems[("backup", "models", "check_interval")]
    assert problems[("backup", "models", "models", 0, "path")] == "model path rel/a must be absolute"
    assert "overlaps the backup directory" in problems[("backup", "models", "models", 1, "path")]
    assert problems[("backup", "config", "paths", 0)] == "configuration path etc/x must be absolute"
