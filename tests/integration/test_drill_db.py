"""The database restore drill against a throwaway server and real mariabackup (tiny data).

The drill restores into a scratch server of its own; the running server must not notice.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import test_backup_db
from test_backup_db import capture, insert_rows

from opsplan.backup.database.catalog import DbBackupTable
from opsplan.backup.database.engine import STREAM_FILE
from opsplan.rules.model import build_rules
from opsplan.runbooks.drill import results as drill_results
from opsplan.runbooks.drill.database import run_drill
from opsplan.runbooks.journal import show_run
from opsplan.stages.all import metric_registry

pytestmark = pytest.mark.mariadb
setup_factory = test_backup_db.setup_factory


def _datadir_snapshot(datadir: Path) -> tuple[float, dict[str, float]]:
    return datadir.stat().st_mtime, {p.name: p.stat().st_mtime for p in datadir.iterdir() if p.is_dir()}


def _chain(setup):
    insert_rows(setup.server, 1, 10)
    full = setup.engine().run("full")
    insert_rows(setup.server, 11, 5)
    inc1 = setup.engine().run("incremental")
    insert_rows(setup.server, 16, 7)
    inc2 = setup.engine().run("incremental")
    capture(setup, inc2.id)  # as `serve` does after a backup
    return full, inc1, inc2


def test_drill_over_full_and_incrementals_passes_and_leaves_the_server_alone(setup_factory):
    setup = setup_factory()
    full, inc1, inc2 = _chain(setup)
    setup.server.execute("UPDATE shop.orders SET note = 'after the backups' WHERE id = 3")  # not in any backup
    rows_before = setup.server.execute("SELECT id, note FROM shop.orders ORDER BY id")
    pid_before = setup.server.pid
    snapshot = _datadir_snapshot(setup.server.datadir)

    res = subprocess.run([*setup.cli()[:-1], "drill", "db", "--json"], env=setup.environ, capture_output=True,
                         text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    result = json.loads(res.stdout)

    assert result["status"] == "ok" and result["failed_step"] is None
    assert result["backup_ids"] == [full.id, inc1.id, inc2.id]
    assert result["rpo_seconds"] is not None and result["rpo_seconds"] >= 0
    assert result["rto_seconds"] > 0 and result["time_to_service_seconds"] <= result["time_to_verified_seconds"]
    for phase in ("hashes", "unpack", "prepare", "copy_back", "start", "verify"):
        assert result["phases"][phase] is not None, phase
    assert result["targets"] == {"rto_seconds": 4 * 3600.0, "rpo_seconds": 24 * 3600.0}
    assert result["rto_met"] is True and result["rpo_met"] is True
    orders = next(x for x in result["tables"] if x["name"] == "shop.orders")
    # Exactly the data of the last backup: 22 rows and the checksum captured then.
    assert orders["ok"] and orders["rows_actual"] == orders["rows_expected"] == 22
    assert orders["checksum_actual"] == orders["checksum_expected"] is not None
    assert all(x["ok"] for x in result["tables"]) and result["capture_recorded"] is False
    report = Path(result["report"])
    assert report.is_file() and "RTO" in report.read_text(encoding="utf-8")
    assert not list(Path(setup.plan.backup.directory).glob(".drill-*"))  # scratch removed
    assert "Pw-s3cret" not in res.stdout + res.stderr + report.read_text(encoding="utf-8")

    # The running server: same process, same rows (the post-backup change too), datadir untouched.
    assert setup.server.pid == pid_before
    assert setup.server.execute("SELECT id, note FROM shop.orders ORDER BY id") == rows_before
    assert _datadir_snapshot(setup.server.datadir) == snapshot

    samples = {s.name: s.value for s in drill_results.DrillCollector(setup.plan, setup.state).collect()}
    assert samples["opsplan_drill_last_status"] == 1.0
    assert samples["opsplan_drill_last_rto_seconds"] == pytest.approx(result["rto_seconds"])
    stored = drill_results.history(setup.state, "database")[0]
    assert stored["status"] == "ok" and stored["backup_ids"] == result["backup_ids"]


def test_rpo_is_the_age_of_the_tip_at_the_time_of_the_drill(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 5)
    full = setup.engine().run("full")
    later = full.finished_at + 30 * 3600  # the drill runs 30 h after the backup: the 24 h RPO target is missed
    result = run_drill(setup.plan, setup.state, {"keep": True}, environ=setup.environ, clock=lambda: later)
    assert result["status"] == "ok", result["reason"]
    assert result["rpo_seconds"] == pytest.approx(30 * 3600, abs=1)
    assert result["rpo_met"] is False and result["rto_met"] is True
    # No capture yet (serve had not run): the drill recorded it from its own restore.
    assert result["capture_recorded"] is True
    orders = next(x for x in result["tables"] if x["name"] == "shop.orders")
    assert orders["ok"] and orders["rows_actual"] == 5 and not orders["captured"]
    with setup.state.session() as session:
        capture_row = session.query(DbBackupTable).filter_by(backup_id=full.id, table_name="orders").one()
        assert (capture_row.row_count, capture_row.checksum is not None) == (5, True)
    kept = Path(result["scratch_dir"])
    assert (kept / "data" / "shop").is_dir()  # --keep
    samples = {s.name: s.value for s in drill_results.DrillCollector(setup.plan, setup.state).collect()}
    assert samples["opsplan_drill_last_rpo_seconds"] > setup.plan.recovery.rpo
    rules = {r.alert: r for r in build_rules(setup.plan, metric_registry())}
    assert rules["RpoTargetMissed"].condition.metric == "opsplan_drill_last_rpo_seconds"
    assert rules["RpoTargetMissed"].condition.threshold == setup.plan.recovery.rpo


def test_a_corrupted_backup_file_fails_the_drill_and_says_why(setup_factory):
    setup = setup_factory()
    full, inc1, _ = _chain(setup)
    stream = setup.root() / inc1.directory / STREAM_FILE
    data = bytearray(stream.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stream.write_bytes(bytes(data))

    res = subprocess.run([*setup.cli()[:-1], "drill", "db", "--json"], env=setup.environ,
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 1, res.stdout + res.stderr
    result = json.loads(res.stdout)
    assert result["status"] == "failed"
    # The step the JSON names is the one the journal records as failed: the unpack that read the stream.
    journal = show_run(setup.state, result["run_id"])
    failed_rows = [s for s in journal["steps"] if s["status"] == "failed"]
    assert [s["name"] for s in failed_rows] == ["unpack"] == [result["failed_step"]]
    assert f"backup {inc1.id} does not match" in result["reason"]
    # The hash step counts what it hashed, and says the streams were only measured there.
    hashes = next(s for s in journal["steps"] if s["name"] == "check_hashes")
    streams = len(result["backup_ids"])  # one stream per backup of the chain
    assert f"스트림 {streams}개는 크기만 확인" in hashes["output"], hashes["output"]
    assert result["rto_seconds"] is None and result["rpo_seconds"] is None
    report = Path(result["report"]).read_text(encoding="utf-8")
    assert f"unpack: {result['reason']}" in report
    assert not list(Path(setup.plan.backup.directory).glob(".drill-*"))
    samples = {s.name: s.value for s in drill_results.DrillCollector(setup.plan, setup.state).collect()}
    assert samples["opsplan_drill_last_status"] == 0.0
    assert "opsplan_drill_last_rto_seconds" not in samples


def test_a_restored_table_that_differs_from_its_capture_fails_verify(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 8)
    full = setup.engine().run("full")
    capture(setup, full.id)
    with setup.state.session() as session:  # as if the backup had held other data than it claims
        orders = session.query(DbBackupTable).filter_by(backup_id=full.id, table_name="orders").one()
        orders.checksum = (orders.checksum or 0) + 1
    result = run_drill(setup.plan, setup.state, {}, environ=setup.environ, clock=time.time)
    assert (result["status"], result["failed_step"]) == ("failed", "verify")
    assert "shop.orders: checksum differs" in result["reason"]
    failed = [x["name"] for x in result["tables"] if not x["ok"]]
    assert failed == ["shop.orders"]


def test_a_dry_run_restores_nothing_and_records_no_drill(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    setup.engine().run("full")
    result = run_drill(setup.plan, setup.state, {}, environ=setup.environ, dry_run=True)
    assert result["status"] == "dry_run"
    assert not list(Path(setup.plan.backup.directory).glob(".drill-*"))
    assert drill_results.history(setup.state) == []
