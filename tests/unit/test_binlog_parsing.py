"""Binlog header reading, restore-point choice, the RPO metric and the rule, on a real state DB (no server)."""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime
from pathlib import Path

import pytest

import yaml_writer
from opsplan.backup.binlogs.archive import BinlogArchive, prune_binlogs, read_summary, sequence_of
from opsplan.backup.binlogs.jobs import binlog_jobs
from opsplan.backup.binlogs.restore import parse_when, replay_args, restore_point
from opsplan.backup.binlogs.rpo import RpoCollector
from opsplan.backup.database.catalog import DbBackup
from opsplan.errors import BackupError
from opsplan.rules.model import build_rules
from opsplan.stages.all import load_plan, metric_registry
from opsplan.store.state import StateDB, state_url
from state_engines import STATE_URL_ENV


def _event(stamp: int, kind: int, server_id: int, body: bytes, pos: int) -> bytes:
    length = 19 + len(body)
    return struct.pack("<IBIIIH", stamp, kind, server_id, length, pos + length, 0) + body


def _binlog(path: Path, stamps: list[int]) -> Path:
    data, pos = b"\xfebin", 4
    for stamp in stamps:
        event = _event(stamp, 2, 7, b"x" * 10, pos)
        data += event
        pos += len(event)
    path.write_bytes(data)
    return path


def test_summary_reads_times_positions_and_server_id(tmp_path):
    s = read_summary(_binlog(tmp_path / "b.000001", [0, 1000, 1005, 1010]))
    assert (s.first_event_at, s.last_event_at, s.server_id, s.events) == (1000, 1010, 7, 4)
    assert s.first_position == 4 and s.end_position == (tmp_path / "b.000001").stat().st_size
    assert s.last_position == s.end_position - 29


def test_truncated_or_foreign_file_is_refused(tmp_path):
    path = _binlog(tmp_path / "b.000001", [1000, 1001])
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(BackupError, match="truncated"):
        read_summary(path)
    (tmp_path / "x").write_bytes(b"not a binlog")
    with pytest.raises(BackupError, match="bad magic"):
        read_summary(tmp_path / "x")
    assert sequence_of("mariadb-bin.000123") == 123


@pytest.fixture
def env(tmp_path, engine_state_url):
    plan = load_plan(yaml_writer.write_plan(tmp_path, {"state_db_url_env": STATE_URL_ENV}))
    db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, os.environ))
    yield plan, db
    db.close()


def _backup(db: StateDB, finished: float, binlog_file: str | None, pos: int = 400) -> int:
    with db.session() as session:
        row = DbBackup(target="database", kind="full", status="ok", started_at=finished - 10, finished_at=finished,
                       binlog_file=binlog_file, binlog_position=pos)
        session.add(row)
        session.flush()
        return row.id


def _archived(db: StateDB, seq: int, first: float, last: float) -> None:
    with db.session() as session:
        session.add(BinlogArchive(name=f"mariadb-bin.{seq:06d}", sequence=seq, status="ok", started_at=last,
                                  first_event_at=first, last_event_at=last, stored_name=f"x.{seq}.zst"))


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def test_restore_point_picks_the_newest_backup_before_and_binlogs_up_to_the_time(env):
    plan, db = env
    _backup(db, 1000, "mariadb-bin.000002", 400)
    second = _backup(db, 2000, "mariadb-bin.000004", 800)
    _archived(db, 2, 900, 1500)
    _archived(db, 3, 1500, 1900)
    _archived(db, 4, 1900, 2500)
    _archived(db, 5, 2500, 3000)
    point = restore_point(db, _at(1700))
    assert point.backup.id != second and [b.name for b in point.binlogs] == ["mariadb-bin.000002", "mariadb-bin.000003"]
    assert (point.start_file, point.start_pos) == ("mariadb-bin.000002", 400)
    point = restore_point(db, _at(2600))
    assert point.backup.id == second and point.start_pos == 800
    assert [b.sequence for b in point.binlogs] == [4, 5]
    with pytest.raises(BackupError, match="before the oldest backup"):
        restore_point(db, _at(500))
    with pytest.raises(BackupError, match="after what is archived"):
        restore_point(db, _at(3001))
    with pytest.raises(BackupError, match="time zone"):
        restore_point(db, datetime(2026, 1, 1))


def test_a_gap_in_the_archive_stops_the_reach(env):
    plan, db = env
    _backup(db, 1000, "mariadb-bin.000002")
    _archived(db, 2, 900, 1500)
    _archived(db, 4, 1600, 2500)  # .000003 was never archived
    with pytest.raises(BackupError, match="newest archived event"):
        restore_point(db, _at(2000))
    values = {s.name: s.value for s in RpoCollector(plan, db, clock=lambda: 1600).collect()}
    assert values["opsplan_backup_rpo_seconds"] == 100  # up to 1500, not 2500


def test_rpo_is_the_backup_age_without_binlogs_and_the_catalog_age_without_backups(env):
    plan, db = env
    values = {s.name: s.value for s in RpoCollector(plan, db, clock=lambda: 4e9).collect()}
    assert values["opsplan_backup_rpo_seconds"] > 0  # since the catalog was created
    _backup(db, 1000, None)
    samples = RpoCollector(plan, db, clock=lambda: 1300).collect()
    assert [(s.name, s.value) for s in samples] == [("opsplan_backup_rpo_seconds", 300)]  # no binlog metrics yet


def test_prune_keeps_what_the_oldest_kept_backup_needs(env):
    plan, db = env
    _backup(db, 2000, "mariadb-bin.000003")
    for seq, first, last in ((1, 100, 500), (2, 500, 1985), (3, 1985, 2100)):
        _archived(db, seq, first, last)
    assert prune_binlogs(plan, db, clock=lambda: 5000) == ["mariadb-bin.000001", "mariadb-bin.000002"]
    assert prune_binlogs(plan, db, clock=lambda: 5000) == []


def test_rule_threshold_is_the_plan_rpo_and_the_toggle_removes_it(tmp_path):
    plan = load_plan(yaml_writer.write_plan(tmp_path, {"recovery": {"rpo": "2h"}}))
    rule = next(r for r in build_rules(plan, metric_registry()) if r.alert == "RpoTargetExceeded")
    assert rule.condition.metric == "opsplan_backup_rpo_seconds" and rule.condition.threshold == 7200
    assert rule.severity == "warning"
    off = load_plan(yaml_writer.write_plan(tmp_path, {"monitoring": {"alerts": {"rpo_target": {"enabled": False}}}}))
    assert not any(r.alert == "RpoTargetExceeded" for r in build_rules(off, metric_registry()))


def test_job_follows_the_plan_interval_and_switch(env, tmp_path):
    plan, db = env
    assert [j.cron for j in binlog_jobs(plan, db)] == ["*/5 * * * *"]
    off = load_plan(yaml_writer.write_plan(tmp_path, {"backup": {
        "directory": str(tmp_path / "b"), "database": {"binlog_archive": False}}}))
    assert binlog_jobs(off, db) == []


def test_stop_time_is_utc_rounded_up_and_naive_times_are_the_plan_zone():
    when = parse_when("2026-11-20 14:00:00.4", "Asia/Seoul")
    args = replay_args([Path("/x/b.000002"), Path("/x/b.000003")], 400, when)
    assert "--stop-datetime=2026-11-20 05:00:01" in args and args.index("--start-position=400") < args.index(
        "/x/b.000002")
    with pytest.raises(BackupError, match="cannot read the time"):
        parse_when("yesterday", "UTC")
