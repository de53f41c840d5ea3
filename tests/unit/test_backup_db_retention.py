"""Retention over simulated months with an injected clock: the catalog is real (SQLite), the backups are rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsplan.backup.database import catalog
from opsplan.backup.database.catalog import DbBackup
from opsplan.backup.database.engine import database_root
from opsplan.backup.database.metrics import BackupCollector
from opsplan.backup.database.retention import RecoveryWindowPolicy, prune
from opsplan.jobs import Job, missed_since
from opsplan.metrics.cached import SERVE_MAX_AGE, watch
from opsplan.plan.models import Plan
from opsplan.store.state import StateDB

DAY = 86400.0
START = datetime(2026, 1, 4, 2, 0, tzinfo=UTC).timestamp()  # a Sunday


@pytest.fixture
def env(tmp_path: Path, engine_state_url: str):
    plan = Plan.model_validate({"data_dir": str(tmp_path / "data"), "backup": {"directory": str(tmp_path / "b")},
                                "timezone": "UTC"})
    db = StateDB.open(engine_state_url)
    yield plan, db
    db.close()


class Catalog:
    """Adds rows as the engine would, with a directory on disk for each, so pruning can be seen."""

    def __init__(self, plan: Plan, db: StateDB):
        self.plan, self.db = plan, db
        self.tip: DbBackup | None = None

    def add(self, when: float, kind: str, status: str = "ok") -> int:
        with self.db.session() as s:
            parent = self.tip if kind == "incremental" else None
            row = DbBackup(target="database", kind=kind, status=status, started_at=when, finished_at=when + 600,
                           parent_id=parent.id if parent else None,
                           full_id=(parent.full_id or parent.id) if parent else None,
                           reason=None if status == "ok" else "mariabackup exited with 1")
            s.add(row)
            s.flush()
            row.directory = f"{row.id}-{kind}"
            if status == "ok":
                self.tip = row
        (database_root(self.plan) / row.directory).mkdir(parents=True)
        return row.id

    def exists(self, backup_id: int) -> bool:
        with self.db.session() as s:
            row = catalog.get_backup(s, backup_id)
            return row.pruned_at is None and (database_root(self.plan) / row.directory).exists()


def simulate(cat: Catalog, days: int, *, failed_days: tuple[int, ...] = ()) -> dict[int, int]:
    """Daily at 02:00: a full on Sundays, incrementals otherwise; returns day -> backup id."""
    ids = {}
    for day in range(days):
        when = START + day * DAY
        status = "failed" if day in failed_days else "ok"
        ids[day] = cat.add(when, "full" if day % 7 == 0 else "incremental", status)
    return ids


def test_window_keeps_the_newest_full_before_it_and_removes_older_chains_and_failures(env):
    plan, db = env
    cat = Catalog(plan, db)
    ids = simulate(cat, 90, failed_days=(45, 80))
    now = START + 89 * DAY + 3600  # day 89, just after its backup
    removed = prune(plan, db, clock=lambda: now)
    window_start = now - 30 * DAY  # day 59.04: the newest full finished before it is day 56
    kept_days = {d for d in ids if d >= 56 and d not in (80,)}
    for day, backup_id in ids.items():
        assert cat.exists(backup_id) == (day in kept_days), f"day {day}"
    assert {r.backup_id for r in removed} == {ids[d] for d in ids if d not in kept_days}
    reasons = {r.backup_id: r.reason("en") for r in removed}
    assert "failed backup" in reasons[ids[80]]
    assert "30-day recovery window" in reasons[ids[0]]
    # every moment of the window is restorable from what is left: a full at or before its start
    with db.session() as s:
        fulls = [b for b in catalog.all_backups(s) if b.kind == "full"]
    assert min(f.started_at for f in fulls) <= window_start


def test_dry_run_lists_but_removes_nothing(env):
    plan, db = env
    cat = Catalog(plan, db)
    ids = simulate(cat, 50)
    now = START + 49 * DAY
    would = prune(plan, db, clock=lambda: now, dry_run=True)
    assert would and all(cat.exists(i) for i in ids.values())


def test_newest_chain_is_kept_whatever_its_age(env):
    plan, db = env
    cat = Catalog(plan, db)
    ids = simulate(cat, 10)  # then nothing for months
    removed = prune(plan, db, clock=lambda: START + 200 * DAY)
    assert all(cat.exists(ids[d]) for d in range(7, 10))  # the chain of the day-7 full
    assert {r.backup_id for r in removed} == {ids[d] for d in range(7)}


def test_a_full_stays_while_a_kept_incremental_depends_on_it():
    def row(i, kind, start, parent=None, full=None):
        return DbBackup(id=i, kind=kind, status="ok", started_at=start, finished_at=start + 60,
                        parent_id=parent, full_id=full)
    # full 1 (day 0) <- incremental 3 (day 40, newer than full 2): it needs full 1 to restore.
    backups = [row(1, "full", START), row(2, "full", START + 20 * DAY), row(3, "incremental", START + 40 * DAY, 1, 1),
               row(4, "full", START + 45 * DAY)]
    removals = RecoveryWindowPolicy(30 * DAY).obsolete(backups, START + 60 * DAY)
    assert {r.backup_id for r in removals} == set()  # 2 is the base; 1 is older but 3 depends on it
    removals = RecoveryWindowPolicy(30 * DAY).obsolete(backups[:2] + backups[3:], START + 60 * DAY)
    assert {r.backup_id for r in removals} == {1}


def test_nothing_goes_while_every_chain_is_inside_the_window(env):
    plan, db = env
    cat = Catalog(plan, db)
    simulate(cat, 20)
    assert prune(plan, db, clock=lambda: START + 21 * DAY) == []


def test_missed_since_finds_a_02_00_missed_while_down():
    tz = "Asia/Seoul"
    # 02:00 KST on 2026-03-10 is 17:00 UTC on 2026-03-09.
    due = datetime(2026, 3, 9, 17, 0, tzinfo=UTC).timestamp()
    last = due - DAY + 120  # yesterday's run
    assert missed_since("0 2 * * *", last, due + 3 * 3600, tz) == due
    assert missed_since("0 2 * * *", due + 60, due + 3 * 3600, tz) is None
    assert missed_since("0 2 * * *", None, due + 60, tz) == due


def test_collector_reports_age_from_the_catalog_creation_until_a_success(env):
    plan, db = env
    with db.session() as s:
        created = catalog.catalog_created_at(s)
    assert created is not None
    now = created + 27 * 3600
    samples = {x.name: x.value for x in BackupCollector(plan, db, clock=lambda: now).collect()}
    assert samples["opsplan_backup_last_success_age_seconds"] == pytest.approx(27 * 3600)
    assert "opsplan_backup_last_status" not in samples
    cat = Catalog(plan, db)
    cat.add(now - 7200, "full")
    cat.add(now - 600, "incremental", status="failed")
    samples = {x.name: x.value for x in BackupCollector(plan, db, clock=lambda: now).collect()}
    assert samples["opsplan_backup_last_status"] == 0.0
    assert samples["opsplan_backup_last_success_age_seconds"] == pytest.approx(6600)
    assert samples["opsplan_backup_last_duration_seconds"] == 600
    assert all(x.label("target") == "database" for x in BackupCollector(plan, db, clock=lambda: now).collect())


def test_first_day_after_sunday_is_a_full_then_incrementals():
    from opsplan.backup.database.engine import choose_kind

    plan = Plan.model_validate({"timezone": "UTC"})
    full = DbBackup(id=1, kind="full", status="ok", started_at=START + 1, finished_at=START + 60)
    assert choose_kind(plan, "auto", None, 0, None, START)[0] == "full"
    assert choose_kind(plan, "auto", full, 1, full, START + DAY)[0] == "incremental"
    assert choose_kind(plan, "auto", full, 7, full, START + 6 * DAY)[0] == "incremental"
    assert choose_kind(plan, "auto", full, 7, full, START + 7 * DAY + 5)[0] == "full"  # next Sunday
    assert choose_kind(plan, "auto", full, 8, full, START + 6 * DAY)[0] == "full"  # chain at max length
    with pytest.raises(Exception, match="no backup to build an incremental on"):
        choose_kind(plan, "incremental", None, 0, None, START)


def test_interrupted_run_is_closed_as_failed(env):
    plan, db = env
    with db.session() as s:
        s.add(DbBackup(target="database", kind="full", status="running", started_at=START, pid=999999,
                       pid_started_at=1.0, directory="x"))
        s.add(DbBackup(target="database", kind="full", status="running", started_at=START, pid=12345,
                       pid_started_at=2.0, directory="y"))
    found = catalog.mark_interrupted(db, lambda: START + 5, alive=lambda pid, _t: pid == 12345)
    assert [f.directory for f in found] == ["x"]
    with db.session() as s:
        statuses = sorted((b.directory, b.status) for b in catalog.all_backups(s))
    assert statuses == [("x", "failed"), ("y", "running")]


def test_serve_reads_the_catalog_again_when_its_backup_job_ends_or_after_a_minute(env):
    """`serve` keeps the catalog figures between cycles (no query per cycle) yet shows a backup
    its scheduler ran at the next cycle, and one run from the command line within a minute."""
    plan, db = env
    with db.session() as s:
        created = catalog.catalog_created_at(s)
    assert created is not None
    now = [created + 3600]
    collector = BackupCollector(plan, db, clock=lambda: now[0], max_age=SERVE_MAX_AGE)

    def values() -> dict[str, float]:
        return {x.name: x.value for x in collector.collect()}

    assert "opsplan_backup_last_status" not in values()
    reads = collector.reading.reads
    now[0] += 30
    assert values()["opsplan_backup_last_success_age_seconds"] == pytest.approx(3630)  # the age moves on
    assert collector.reading.reads == reads  # without reading the catalog again
    cat = Catalog(plan, db)
    cat.add(now[0] - 1200, "full")  # `opsplan backup db` in another process
    assert "opsplan_backup_last_status" not in values()
    now[0] += SERVE_MAX_AGE
    assert values()["opsplan_backup_last_status"] == 1.0
    assert values()["opsplan_backup_last_success_age_seconds"] == pytest.approx(600 + SERVE_MAX_AGE)
    [job] = watch([Job("backup-db", "0 2 * * *", lambda: cat.add(now[0] - 700, "incremental", status="failed"))],
                  [collector.reading])
    job.run()  # as serve's scheduler runs it
    assert values()["opsplan_backup_last_status"] == 0.0
